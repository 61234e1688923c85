//! The ServiceInstance record, in Curator x-discovery's JSON.

use serde::{Deserialize, Serialize};

/// How an instance's node lives (Curator's `ServiceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceType {
    /// An ephemeral node, gone with the session (the default).
    #[default]
    Dynamic,
    /// An ephemeral sequential node.
    DynamicSequential,
    /// A persistent node.
    Static,
    /// A persistent node, never removed by discovery itself.
    Permanent,
}

impl ServiceType {
    /// The create mode Curator uses for the type.
    pub fn create_mode(self) -> zk_client::CreateMode {
        match self {
            ServiceType::Dynamic => zk_client::CreateMode::Ephemeral,
            ServiceType::DynamicSequential => zk_client::CreateMode::EphemeralSequential,
            ServiceType::Static | ServiceType::Permanent => zk_client::CreateMode::Persistent,
        }
    }
}

/// One part of a [`UriSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UriPart {
    /// Literal text, or a variable's name.
    pub value: String,
    /// Whether `value` names a variable.
    pub variable: bool,
}

/// A URI template such as `{scheme}://{address}:{port}` (Curator's
/// `UriSpec`; `[` and `]` stand for literal braces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct UriSpec {
    /// The template's parts, in order.
    pub parts: Vec<UriPart>,
}

impl UriSpec {
    /// Parses a template: `{name}` is a variable, other text is literal.
    pub fn parse(template: &str) -> UriSpec {
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut in_var = false;
        for ch in template.chars() {
            match (ch, in_var) {
                ('{', false) => {
                    if !cur.is_empty() {
                        parts.push(UriPart {
                            value: std::mem::take(&mut cur),
                            variable: false,
                        });
                    }
                    in_var = true;
                }
                ('}', true) => {
                    parts.push(UriPart {
                        value: std::mem::take(&mut cur),
                        variable: true,
                    });
                    in_var = false;
                }
                ('[', false) => cur.push('{'),
                (']', false) => cur.push('}'),
                (c, _) => cur.push(c),
            }
        }
        if !cur.is_empty() {
            parts.push(UriPart {
                value: cur,
                variable: in_var,
            });
        }
        UriSpec { parts }
    }

    /// Fills the template from `instance` (variables `scheme` (`http`, or
    /// `https` when only an SSL port is set), `name`, `id`, `address`,
    /// `port`, `ssl-port`, `registration-time-utc`, `service-type`; an
    /// unknown variable is left empty).
    pub fn build<P>(&self, instance: &ServiceInstance<P>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if !part.variable {
                out.push_str(&part.value);
                continue;
            }
            let opt = |v: Option<u16>| v.map(|p| p.to_string()).unwrap_or_default();
            let value = match part.value.as_str() {
                "scheme" => {
                    if instance.ssl_port.is_some() && instance.port.is_none() {
                        "https".to_string()
                    } else {
                        "http".to_string()
                    }
                }
                "name" => instance.name.clone(),
                "id" => instance.id.clone(),
                "address" => instance.address.clone().unwrap_or_default(),
                "port" => opt(instance.port),
                "ssl-port" => opt(instance.ssl_port),
                "registration-time-utc" => instance.registration_time_utc.to_string(),
                "service-type" => serde_json::to_value(instance.service_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            out.push_str(&value);
        }
        out
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// One registered instance of a service: Curator's `ServiceInstance`, in
/// the JSON that its `JsonInstanceSerializer` reads and writes (every field
/// written, nulls included; `enabled` only when false; unknown keys
/// ignored).
///
/// `P` is the payload. Curator's Jackson typing puts the payload's Java
/// class in an `"@class"` key: keep the default `serde_json::Value` to pass
/// any payload through intact, or use [`ClassedPayload`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInstance<P = serde_json::Value> {
    /// The service's name.
    pub name: String,
    /// The instance's id (unique within the service).
    pub id: String,
    /// Host name or IP address.
    pub address: Option<String>,
    /// Plain port.
    pub port: Option<u16>,
    /// SSL port.
    #[serde(rename = "sslPort")]
    pub ssl_port: Option<u16>,
    /// The user payload.
    pub payload: Option<P>,
    /// When the instance was registered, ms since the epoch.
    #[serde(rename = "registrationTimeUTC")]
    pub registration_time_utc: i64,
    /// How its node lives.
    #[serde(rename = "serviceType")]
    pub service_type: ServiceType,
    /// A URI template.
    #[serde(rename = "uriSpec")]
    pub uri_spec: Option<UriSpec>,
    /// Whether the instance takes traffic (missing in JSON means true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
}

impl<P> ServiceInstance<P> {
    /// An instance of `name` at `address:port`, with a random id, no
    /// payload, registered now, DYNAMIC.
    pub fn new(name: &str, address: &str, port: u16) -> Self {
        ServiceInstance {
            name: name.to_string(),
            id: uuid::Uuid::new_v4().to_string(),
            address: Some(address.to_string()),
            port: Some(port),
            ssl_port: None,
            payload: None,
            registration_time_utc: now_ms(),
            service_type: ServiceType::Dynamic,
            uri_spec: None,
            enabled: true,
        }
    }

    /// With this id.
    pub fn with_id(mut self, id: &str) -> Self {
        self.id = id.to_string();
        self
    }

    /// With this payload.
    pub fn with_payload(mut self, payload: P) -> Self {
        self.payload = Some(payload);
        self
    }

    /// With this service type.
    pub fn with_service_type(mut self, t: ServiceType) -> Self {
        self.service_type = t;
        self
    }

    /// With this URI template.
    pub fn with_uri_spec(mut self, spec: UriSpec) -> Self {
        self.uri_spec = Some(spec);
        self
    }

    /// The instance's URI from its template, if it has one.
    pub fn uri(&self) -> Option<String> {
        self.uri_spec.as_ref().map(|s| s.build(self))
    }

    /// `address:port` (as the `discovery` example prints it).
    pub fn address_port(&self) -> String {
        format!(
            "{}:{}",
            self.address.as_deref().unwrap_or(""),
            self.port.map(|p| p.to_string()).unwrap_or_default()
        )
    }
}

impl<P: Serialize> ServiceInstance<P> {
    /// The node data (JSON bytes).
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

impl<P: serde::de::DeserializeOwned> ServiceInstance<P> {
    /// Parses node data.
    pub fn from_json(data: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(data)
    }
}

/// A typed payload with the Java class name Curator's Jackson typing
/// expects, written as the fields of `T` plus `"@class": class`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassedPayload<T> {
    /// The Java class name (`"@class"`).
    #[serde(rename = "@class")]
    pub class: String,
    /// The payload's fields.
    #[serde(flatten)]
    pub value: T,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_curators_json_and_writes_the_same_keys() {
        let curator = r#"{"name":"orders","id":"92cd30ef-1","address":"192.168.0.102","port":1238,"sslPort":null,"payload":{"@class":"poc.InstanceDetails","description":"orders"},"registrationTimeUTC":1458925251363,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true}]}}"#;
        let i: ServiceInstance = ServiceInstance::from_json(curator.as_bytes()).unwrap();
        assert_eq!(i.port, Some(1238));
        assert!(i.enabled);
        assert_eq!(i.payload.as_ref().unwrap()["@class"], "poc.InstanceDetails");
        assert_eq!(i.uri().unwrap(), "http://192.168.0.102:1238");
        let back: serde_json::Value = serde_json::from_slice(&i.to_json().unwrap()).unwrap();
        let orig: serde_json::Value = serde_json::from_str(curator).unwrap();
        assert_eq!(back, orig);
        let keys: Vec<&str> = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(
            &i.to_json().unwrap(),
        )
        .unwrap()
        .keys()
        .map(|_| "")
        .collect();
        assert_eq!(
            keys.len(),
            9,
            "every field written, enabled omitted when true"
        );
    }

    #[test]
    fn disabled_and_classed_payloads_round_trip() {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        struct Details {
            description: String,
        }
        let mut i = ServiceInstance::new("s", "h", 1).with_payload(ClassedPayload {
            class: "x.Details".into(),
            value: Details {
                description: "d".into(),
            },
        });
        i.enabled = false;
        let json: serde_json::Value = serde_json::from_slice(&i.to_json().unwrap()).unwrap();
        assert_eq!(json["enabled"], false);
        assert_eq!(json["payload"]["@class"], "x.Details");
        assert_eq!(json["payload"]["description"], "d");
        let back =
            ServiceInstance::<ClassedPayload<Details>>::from_json(&i.to_json().unwrap()).unwrap();
        assert_eq!(back, i);
    }

    #[test]
    fn uri_spec_parses_braces_and_literals() {
        let s = UriSpec::parse("{scheme}://{address}:{port}/[x]");
        assert_eq!(s.parts.len(), 6);
        let i: ServiceInstance = ServiceInstance::new("n", "a", 80);
        assert_eq!(s.build(&i), "http://a:80/{x}");
    }
}
