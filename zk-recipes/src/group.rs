//! Group membership: each member keeps an ephemeral node
//! `<group>/<member id>` holding its data (a [`PersistentNode`], so it
//! comes back after an expiry) and sees every member through a
//! [`TreeCache`] (Curator's `GroupMember`).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use zk_client::CreateMode;

use crate::cache::{CacheEvents, TreeCache};
use crate::error::Result;
use crate::persistent_node::PersistentNode;

/// This process's membership of a group, and its view of all members.
#[derive(Debug)]
pub struct GroupMember {
    group: String,
    id: String,
    node: PersistentNode,
    cache: TreeCache,
}

impl GroupMember {
    /// Joins the group at `group` as `id` with `data`, on `session`.
    pub fn join(session: &crate::Session, group: &str, id: &str, data: &[u8]) -> Self {
        let group = group.trim_end_matches('/').to_string();
        let path = format!("{group}/{id}");
        let node = PersistentNode::start(session, &path, CreateMode::Ephemeral, data);
        let cache = TreeCache::builder(&group).start_on(session);
        GroupMember {
            group,
            id: id.to_string(),
            node,
            cache,
        }
    }

    /// This member's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Waits until our node exists and the member view has been read once
    /// (up to `timeout`); false on timeout.
    pub async fn wait_joined(&self, timeout: Duration) -> bool {
        if !self.node.wait_for_creation(timeout).await {
            return false;
        }
        tokio::time::timeout(timeout, self.cache.initialized())
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Every member now, id → data (as the cache last saw them).
    pub fn members(&self) -> BTreeMap<String, Bytes> {
        self.cache
            .children(&self.group)
            .into_iter()
            .filter_map(|id| {
                let node = self.cache.get(&format!("{}/{id}", self.group))?;
                Some((id, node.data))
            })
            .collect()
    }

    /// Changes to the member view (as cache events on the group's nodes).
    pub fn events(&self) -> CacheEvents {
        self.cache.events()
    }

    /// Changes our data.
    pub fn set_data(&self, data: &[u8]) -> Result<()> {
        self.node.set_data(data)
    }

    /// Leaves the group (deletes our node).
    pub async fn leave(self) -> Result<()> {
        self.node.close().await
    }
}
