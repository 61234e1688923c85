//! Registering instances: Curator's `ServiceDiscovery` writes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;
use zk_client::{Client, CreateMode, CreateOptions, Error};

use super::cache::{ProviderStrategy, ServiceCache, ServiceProvider};
use super::instance::ServiceInstance;
use super::service_path;

/// Local registrations by instance path: JSON data and create mode.
type Registered = Arc<Mutex<BTreeMap<String, (Vec<u8>, CreateMode)>>>;

/// Registers this process's instances under a base path and looks up
/// others (Curator's `ServiceDiscovery`, same layout and JSON).
///
/// Built on a series of clients ([`ServiceDiscovery::following`], for
/// example a `Session`'s), it registers every local instance again in each
/// new session, so registrations come back after an expiry. Dropping it
/// stops that; the ephemeral nodes go with the session.
#[derive(Debug)]
pub struct ServiceDiscovery<P = serde_json::Value> {
    base: String,
    clients: watch::Receiver<Client>,
    /// Local registrations by instance path, as JSON data and mode.
    registered: Registered,
    task: tokio::task::JoinHandle<()>,
    _fixed: Option<watch::Sender<Client>>,
    _p: std::marker::PhantomData<fn() -> P>,
}

impl<P> ServiceDiscovery<P>
where
    P: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Discovery under `base` on one client (registrations end with its session).
    pub fn new(client: &Client, base: &str) -> Self {
        let (tx, rx) = watch::channel(client.clone());
        let mut d = Self::following(rx, base);
        // No further client comes; the series lives as long as the discovery.
        d._fixed = Some(tx);
        d
    }

    /// Discovery under `base` on `session`: local instances are registered
    /// again in each new session.
    pub fn on_session(session: &crate::Session, base: &str) -> Self {
        Self::following(session.clients(), base)
    }

    /// Discovery under `base` on the current client of `clients`, which
    /// registers every local instance again on each new client (session).
    pub fn following(clients: watch::Receiver<Client>, base: &str) -> Self {
        let registered: Registered = Arc::default();
        let task = tokio::spawn(reregister_on_new_session(
            clients.clone(),
            registered.clone(),
        ));
        ServiceDiscovery {
            base: base.trim_end_matches('/').to_string(),
            clients,
            registered,
            task,
            _fixed: None,
            _p: std::marker::PhantomData,
        }
    }

    fn client(&self) -> Client {
        self.clients.borrow().clone()
    }

    fn instance_path(&self, instance: &ServiceInstance<P>) -> String {
        format!(
            "{}/{}",
            service_path(&self.base, &instance.name),
            instance.id
        )
    }

    /// Registers `instance`: creates its node (parents as containers, as
    /// Curator does); an existing node of the same id is deleted and
    /// re-created so that watchers see it. It is registered again in every
    /// new session until [`unregister`](Self::unregister).
    pub async fn register(&self, instance: &ServiceInstance<P>) -> Result<(), Error> {
        let path = self.instance_path(instance);
        let data = instance
            .to_json()
            .map_err(|e| Error::InvalidArgument(format!("instance does not serialize: {e}")))?;
        let mode = instance.service_type.create_mode();
        write_instance(&self.client(), &path, &data, mode).await?;
        lock(&self.registered).insert(path, (data, mode));
        Ok(())
    }

    /// Writes `instance`'s new data over its registered node.
    pub async fn update(&self, instance: &ServiceInstance<P>) -> Result<(), Error> {
        let path = self.instance_path(instance);
        let data = instance
            .to_json()
            .map_err(|e| Error::InvalidArgument(format!("instance does not serialize: {e}")))?;
        self.client().set_data(&path, &data, None).await?;
        let mode = instance.service_type.create_mode();
        lock(&self.registered).insert(path, (data, mode));
        Ok(())
    }

    /// Removes `instance`'s node and stops re-registering it. A node that is
    /// already gone is fine.
    pub async fn unregister(&self, instance: &ServiceInstance<P>) -> Result<(), Error> {
        let path = self.instance_path(instance);
        lock(&self.registered).remove(&path);
        match self.client().delete(&path, None).await {
            Ok(()) | Err(Error::NoNode) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The service names under the base path.
    pub async fn query_names(&self) -> Result<Vec<String>, Error> {
        match self.client().get_children(&self.base).await {
            Ok(mut v) => {
                v.sort();
                Ok(v)
            }
            Err(Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The instances of `name` now (one read each; nodes that do not parse
    /// are left out), sorted by id.
    pub async fn query_instances(&self, name: &str) -> Result<Vec<ServiceInstance<P>>, Error> {
        let client = self.client();
        let path = service_path(&self.base, name);
        let ids = match client.get_children(&path).await {
            Ok(v) => v,
            Err(Error::NoNode) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for id in ids {
            match client.get_data(&format!("{path}/{id}")).await {
                Ok((data, _)) => match ServiceInstance::<P>::from_json(&data) {
                    Ok(i) => out.push(i),
                    Err(e) => {
                        tracing::warn!(%path, %id, error = %e, "discovery: not a service instance")
                    }
                },
                Err(Error::NoNode) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// A cache of `name`'s instances, on the current client.
    pub fn cache(&self, name: &str) -> ServiceCache<P> {
        ServiceCache::following(self.clients.clone(), &self.base, name)
    }

    /// A provider of `name`'s instances by `strategy`.
    pub fn provider(&self, name: &str, strategy: ProviderStrategy) -> ServiceProvider<P> {
        ServiceProvider::new(self.cache(name), strategy)
    }
}

impl<P> Drop for ServiceDiscovery<P> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Creates the instance node; parents missing → created as containers;
/// NodeExists → delete and create again (two tries, as Curator).
async fn write_instance(
    client: &Client,
    path: &str,
    data: &[u8],
    mode: CreateMode,
) -> Result<(), Error> {
    let mut tries = 0;
    loop {
        match client.create(path, data, &CreateOptions::new(mode)).await {
            Ok(_) => return Ok(()),
            Err(Error::NoNode) => create_container_parents(client, path).await?,
            Err(Error::NodeExists) if tries < 2 => match client.delete(path, None).await {
                Ok(()) | Err(Error::NoNode) => {}
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
        tries += 1;
        if tries > 4 {
            return Err(Error::NodeExists);
        }
    }
}

async fn create_container_parents(client: &Client, path: &str) -> Result<(), Error> {
    let mut parents = Vec::new();
    let mut p = zk_proto::parent(path);
    while let Some(q) = p {
        if q == "/" {
            break;
        }
        parents.push(q.to_string());
        p = zk_proto::parent(q);
    }
    for q in parents.iter().rev() {
        match client
            .create(q, b"", &CreateOptions::new(CreateMode::Container))
            .await
        {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn reregister_on_new_session(mut clients: watch::Receiver<Client>, registered: Registered) {
    clients.borrow_and_update();
    while clients.changed().await.is_ok() {
        let client = clients.borrow_and_update().clone();
        let todo: Vec<(String, (Vec<u8>, CreateMode))> = lock(&registered)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (path, (data, mode)) in todo {
            let mut failures = 0u32;
            loop {
                // Unregistered meanwhile: leave it.
                if !lock(&registered).contains_key(&path) {
                    break;
                }
                match write_instance(&client, &path, &data, mode).await {
                    Ok(()) => break,
                    Err(e) if e.is_retriable() && failures < 20 => {
                        failures += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(
                            50 * u64::from(failures),
                        ))
                        .await;
                    }
                    Err(e) => {
                        tracing::warn!(%path, error = %e, "discovery: could not register again in the new session");
                        break;
                    }
                }
            }
        }
    }
}
