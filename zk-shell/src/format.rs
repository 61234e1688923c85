//! zkCli's output formats: Stat, dates, ACLs, watch events, child lists.

use std::fmt::Write as _;

use zk_client::{Acl, Id, Perms, Stat};

/// A Stat as zkCli's `StatPrinter` prints it, one `name = value` line each,
/// every line ending in a newline.
///
/// Times are printed as Java's `Date.toString` prints them in the UTC time
/// zone (`Thu Jan 01 00:00:00 UTC 1970`).
pub fn stat_lines(stat: &Stat) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        s,
        "cZxid = 0x{:x}\nctime = {}\nmZxid = 0x{:x}\nmtime = {}\npZxid = 0x{:x}\n\
         cversion = {}\ndataVersion = {}\naclVersion = {}\nephemeralOwner = 0x{:x}\n\
         dataLength = {}\nnumChildren = {}\n",
        stat.czxid,
        java_date(stat.ctime),
        stat.mzxid,
        java_date(stat.mtime),
        stat.pzxid,
        stat.cversion,
        stat.version,
        stat.aversion,
        stat.ephemeral_owner,
        stat.data_length,
        stat.num_children,
    );
    s
}

/// Milliseconds since the epoch as Java's `Date.toString` writes them in UTC:
/// `EEE MMM dd HH:mm:ss zzz yyyy`.
pub fn java_date(millis: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS
        .get(days.rem_euclid(7) as usize)
        .copied()
        .unwrap_or("???");
    let month_name = MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("???");
    format!(
        "{weekday} {month_name} {day:02} {:02}:{:02}:{:02} UTC {year}",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    )
}

/// (year, month 1-12, day 1-31) of a day count from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Permission letters in zkCli's order (`cdrwa`).
pub fn perm_string(perms: Perms) -> String {
    let bits = perms.bits();
    [
        (Perms::CREATE, 'c'),
        (Perms::DELETE, 'd'),
        (Perms::READ, 'r'),
        (Perms::WRITE, 'w'),
        (Perms::ADMIN, 'a'),
    ]
    .into_iter()
    .filter(|(p, _)| bits & p.bits() != 0)
    .map(|(_, c)| c)
    .collect()
}

/// One ACL entry as zkCli's `getAcl` prints it: the id as jute's CSV
/// `toString` writes it (`'world,'anyone` and a newline), then `: ` and the
/// permission letters. Ends in a newline.
pub fn acl_lines(acl: &Acl) -> String {
    format!(
        "'{},'{}\n: {}\n",
        csv_escape(&acl.id.scheme),
        csv_escape(&acl.id.id),
        perm_string(acl.perms)
    )
}

/// jute's `Utils.toCSVString` escaping (without the leading quote).
fn csv_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// Parses zkCli's ACL syntax, `scheme:id:perms[,scheme:id:perms...]`
/// (`id` may hold colons: the first and last colon split). Like zkCli,
/// a malformed entry or an unknown permission letter is reported in the
/// returned warnings and skipped.
pub fn parse_acl(text: &str) -> (Vec<Acl>, Vec<String>) {
    let mut acl = Vec::new();
    let mut warnings = Vec::new();
    for entry in text.split(',') {
        let (Some(first), Some(last)) = (entry.find(':'), entry.rfind(':')) else {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        };
        if first == last {
            warnings.push(format!("{entry} does not have the form scheme:id:perm"));
            continue;
        }
        let scheme = entry.get(..first).unwrap_or_default();
        let id = entry.get(first + 1..last).unwrap_or_default();
        let mut bits = 0;
        for c in entry.get(last + 1..).unwrap_or_default().chars() {
            bits |= match c {
                'r' => Perms::READ.bits(),
                'w' => Perms::WRITE.bits(),
                'c' => Perms::CREATE.bits(),
                'd' => Perms::DELETE.bits(),
                'a' => Perms::ADMIN.bits(),
                other => {
                    warnings.push(format!("Unknown perm type: {other}"));
                    0
                }
            };
        }
        acl.push(Acl::new(Perms::from_bits_retain(bits), Id::new(scheme, id)));
    }
    (acl, warnings)
}

/// Child names as zkCli's `ls` prints them: sorted, `[a, b, c]`.
pub fn child_list(mut children: Vec<String>) -> String {
    children.sort();
    format!("[{}]", children.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_java_prints_them_in_utc() {
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2024-02-29T13:05:09.999Z, a Thursday.
        assert_eq!(java_date(1_709_211_909_999), "Thu Feb 29 13:05:09 UTC 2024");
        assert_eq!(java_date(-1), "Wed Dec 31 23:59:59 UTC 1969");
    }

    #[test]
    fn acls_print_and_parse_as_zkcli() {
        let (acl, warnings) = parse_acl("world:anyone:cdrwa,digest:u:h=:rx,bad");
        assert_eq!(
            warnings,
            [
                "Unknown perm type: x",
                "bad does not have the form scheme:id:perm"
            ]
        );
        assert_eq!(acl.len(), 2);
        assert_eq!(acl_lines(&acl[0]), "'world,'anyone\n: cdrwa\n");
        assert_eq!(acl_lines(&acl[1]), "'digest,'u:h=\n: r\n");
    }

    #[test]
    fn children_are_sorted() {
        assert_eq!(child_list(vec!["b".into(), "a".into()]), "[a, b]");
        assert_eq!(child_list(vec![]), "[]");
    }
}
