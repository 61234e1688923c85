//! Service discovery compatible with Curator's x-discovery.
//!
//! Instances live at `<base>/<service name>/<instance id>` as
//! [`ServiceInstance`] JSON, ephemeral by default, so Java services using
//! Curator's `ServiceDiscovery` and Rust ones using [`ServiceDiscovery`]
//! find each other.

mod cache;
mod instance;
mod registry;

pub use cache::{ProviderStrategy, ServiceCache, ServiceProvider};
pub use instance::{ClassedPayload, ServiceInstance, ServiceType, UriPart, UriSpec};
pub use registry::ServiceDiscovery;

/// `<base>/<name>`.
pub(crate) fn service_path(base: &str, name: &str) -> String {
    if base == "/" {
        format!("/{name}")
    } else {
        format!("{}/{name}", base.trim_end_matches('/'))
    }
}
