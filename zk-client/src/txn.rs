//! Typed builders for multi (atomic transactions) and multiRead, and their results.

use std::future::Future;

use zk_proto::{
    CheckVersionRequest, DeleteRequest, ErrorCode, GetChildrenRequest, GetDataRequest, MultiOp,
    MultiRequest, MultiResponse, MultiResult, Request, SetDataRequest,
};

use crate::client::Client;
use crate::create::{CreateBody, CreateOptions};
use crate::error::{Error, OpResult, Result};
use crate::request::decode;

impl Client {
    /// Starts an atomic transaction (multi): create, delete, set_data and
    /// check ops, all applied or none.
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self.clone())
    }

    /// Starts a batch of reads (multiRead, ZooKeeper 3.6+): get_data and
    /// get_children ops, each succeeding or failing on its own.
    pub fn multi_read(&self) -> MultiRead {
        MultiRead::new(self.clone())
    }
}

/// An atomic transaction (multi): every op is applied, or none is.
///
/// Ops are validated (paths, data sizes) as they are added; the first bad
/// one makes [`Transaction::commit`] fail without sending anything.
///
/// ```no_run
/// # async fn demo(client: zk_client::Client) -> Result<(), zk_client::Error> {
/// use zk_client::{CreateOptions, OpResult};
///
/// let results = client
///     .transaction()
///     .check("/app/config", 3)
///     .create("/app/config/v4", b"new", &CreateOptions::default())
///     .set_data("/app/config", b"v4", Some(3))
///     .delete("/app/config/v3", None)
///     .commit()
///     .await?;
/// assert!(matches!(results[1], OpResult::Create { .. }));
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a transaction does nothing until committed"]
pub struct Transaction {
    client: Client,
    ops: Result<Vec<MultiOp>>,
}

impl Transaction {
    pub(crate) fn new(client: Client) -> Self {
        Transaction {
            client,
            ops: Ok(Vec::new()),
        }
    }

    fn push(mut self, op: impl FnOnce(&Client) -> Result<MultiOp>) -> Self {
        if let Ok(ops) = &mut self.ops {
            match op(&self.client) {
                Ok(op) => ops.push(op),
                Err(e) => self.ops = Err(e),
            }
        }
        self
    }

    /// Adds a create (any mode; the result carries the path and Stat).
    /// Parents cannot be created inside a transaction: options with
    /// [`CreateOptions::with_parents`] make the commit fail with
    /// [`Error::InvalidArgument`].
    pub fn create(self, path: &str, data: &[u8], options: impl Into<CreateOptions>) -> Self {
        let options = options.into();
        self.push(|c| {
            if options.parents().is_some() {
                return Err(Error::InvalidArgument(
                    "a transaction cannot create missing parents (with_parents)".into(),
                ));
            }
            let server_path = c
                .inner
                .chroot
                .to_server_create(path, options.mode().is_sequential())?;
            Ok(match options.request(server_path, c.check_data(data)?)? {
                CreateBody::Plain(r) => MultiOp::Create2(r),
                CreateBody::Container(r) => MultiOp::CreateContainer(r),
                CreateBody::Ttl(r) => MultiOp::CreateTtl(r),
            })
        })
    }

    /// Adds a delete (`None`: any version).
    pub fn delete(self, path: &str, version: impl Into<Option<i32>>) -> Self {
        let version: Option<i32> = version.into();
        self.push(|c| {
            Ok(MultiOp::Delete(DeleteRequest {
                path: c.server_path(path)?,
                version: version.unwrap_or(-1),
            }))
        })
    }

    /// Adds a set_data (`None`: any version).
    pub fn set_data(self, path: &str, data: &[u8], version: impl Into<Option<i32>>) -> Self {
        let version: Option<i32> = version.into();
        self.push(|c| {
            Ok(MultiOp::SetData(SetDataRequest {
                path: c.server_path(path)?,
                data: c.check_data(data)?.into(),
                version: version.unwrap_or(-1),
            }))
        })
    }

    /// Adds a check that the node's data version is `version` (`None`: any
    /// version, so the check only asserts that the node exists).
    pub fn check(self, path: &str, version: impl Into<Option<i32>>) -> Self {
        let version: Option<i32> = version.into();
        self.push(|c| {
            Ok(MultiOp::Check(CheckVersionRequest {
                path: c.server_path(path)?,
                version: version.unwrap_or(-1),
            }))
        })
    }

    /// Sends the transaction (its place in the session's order is fixed
    /// here) and returns one result per op.
    ///
    /// If any op fails, nothing is applied and the error is
    /// [`Error::MultiFailed`], naming the failing op and carrying every op's result.
    pub fn commit(self) -> impl Future<Output = Result<Vec<OpResult>>> + Send + 'static {
        let client = self.client;
        let call = client.send(
            self.ops.map(|ops| Request::Multi(MultiRequest { ops })),
            None,
        );
        async move {
            let resp: MultiResponse = decode(call.ok().await?)?;
            let failed = resp.first_error();
            let results = convert(&client, resp.results, failed.is_some());
            match failed {
                None => Ok(results),
                Some((index, code)) => Err(Error::MultiFailed {
                    index,
                    source: Box::new(Error::from_failure(code)),
                    results,
                }),
            }
        }
    }
}

/// A batch of reads (multiRead): each op succeeds or fails on its own.
///
/// ```no_run
/// # async fn demo(client: zk_client::Client) -> Result<(), zk_client::Error> {
/// let results = client.multi_read().get_data("/a").get_children("/b").execute().await?;
/// for r in results {
///     println!("{r:?}"); // OpResult::GetData / GetChildren / Error(NoNode)...
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a multiRead does nothing until executed"]
pub struct MultiRead {
    client: Client,
    ops: Result<Vec<MultiOp>>,
}

impl MultiRead {
    pub(crate) fn new(client: Client) -> Self {
        MultiRead {
            client,
            ops: Ok(Vec::new()),
        }
    }

    fn push(mut self, path: &str, op: impl FnOnce(String) -> MultiOp) -> Self {
        if let Ok(ops) = &mut self.ops {
            match self.client.server_path(path) {
                Ok(p) => ops.push(op(p)),
                Err(e) => self.ops = Err(e),
            }
        }
        self
    }

    /// Adds a get_data.
    pub fn get_data(self, path: &str) -> Self {
        self.push(path, |path| {
            MultiOp::GetData(GetDataRequest { path, watch: false })
        })
    }

    /// Adds a get_children.
    pub fn get_children(self, path: &str) -> Self {
        self.push(path, |path| {
            MultiOp::GetChildren(GetChildrenRequest { path, watch: false })
        })
    }

    /// Sends the batch and returns one result per op (`OpResult::Error` for failed ones).
    pub fn execute(self) -> impl Future<Output = Result<Vec<OpResult>>> + Send + 'static {
        let client = self.client;
        let call = client.send(
            self.ops.map(|ops| Request::MultiRead(MultiRequest { ops })),
            None,
        );
        async move {
            let resp: MultiResponse = decode(call.ok().await?)?;
            Ok(convert(&client, resp.results, false))
        }
    }
}

fn convert(client: &Client, results: Vec<MultiResult>, failed: bool) -> Vec<OpResult> {
    results
        .into_iter()
        .map(|r| match r {
            MultiResult::Create(c) => OpResult::Create {
                path: client.strip(c.path),
                stat: None,
            },
            MultiResult::Create2(c) => OpResult::Create {
                path: client.strip(c.path),
                stat: Some(c.stat),
            },
            MultiResult::Delete => OpResult::Delete,
            MultiResult::SetData(s) => OpResult::SetData { stat: s.stat },
            MultiResult::Check => OpResult::Check,
            MultiResult::GetData(d) => OpResult::GetData {
                data: d.data.into(),
                stat: d.stat,
            },
            MultiResult::GetChildren(c) => OpResult::GetChildren {
                children: c.children,
            },
            MultiResult::Error(ErrorCode::Ok) if failed => OpResult::RolledBack,
            MultiResult::Error(code) => OpResult::Error(Error::from_failure(code)),
            _ => OpResult::Error(Error::UnexpectedReply(
                "unknown multi result type".to_owned(),
            )),
        })
        .collect()
}
