//! Holds back a channel's outbound messages until the monitor updates they depend on are
//! persisted, and releases them in their original order.
//!
//! A message produced after monitor update `k` depends on `k`: the peer must not see a
//! `commitment_signed`, `revoke_and_ack` or fulfill before the monitor could enforce the
//! state it commits to. Completions may arrive in any order (a user replicating to several
//! watchers reports each as it lands); update `k` counts as persisted only when every
//! update up to `k` has completed.

use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct MonitorGatedOutbox<M> {
    queue: VecDeque<(u64, M)>,
    completed: BTreeSet<u64>,
    persisted_through: u64,
}

impl<M> MonitorGatedOutbox<M> {
    /// An empty outbox whose updates up to `persisted_through` are already durable.
    pub fn new(persisted_through: u64) -> Self {
        MonitorGatedOutbox {
            queue: VecDeque::new(),
            completed: BTreeSet::new(),
            persisted_through,
        }
    }

    /// Queues `message`, produced after update `depends_on_update_id`.
    pub fn push(&mut self, depends_on_update_id: u64, message: M) {
        // Dependencies never go backwards, or a later message could overtake an earlier one.
        debug_assert!(self.queue.back().is_none_or(|(d, _)| *d <= depends_on_update_id));
        self.queue.push_back((depends_on_update_id, message));
    }

    /// What the last queued message waits for (or what is durable, if none waits): the
    /// lowest dependency a new message can have without overtaking one.
    #[cfg(feature = "planted-bugs")]
    pub fn tail_dependency(&self) -> u64 {
        self.queue.back().map_or(self.persisted_through, |(d, _)| *d)
    }

    /// A deliberate bug (feature `planted-bugs`): `update_id` counts as persisted with
    /// every update before it, whether or not those completed.
    #[cfg(feature = "planted-bugs")]
    pub fn update_completed_ignoring_gaps(&mut self, update_id: u64) {
        self.persisted_through = self.persisted_through.max(update_id);
        self.completed.retain(|id| *id > update_id);
    }

    /// The user reports update `update_id` durable, in any order.
    pub fn update_completed(&mut self, update_id: u64) {
        if update_id > self.persisted_through {
            self.completed.insert(update_id);
        }
        while self.completed.remove(&(self.persisted_through + 1)) {
            self.persisted_through += 1;
        }
    }

    /// The highest update id such that it and every earlier one are durable.
    pub fn persisted_through(&self) -> u64 {
        self.persisted_through
    }

    /// Whether a message waits on persistence.
    pub fn is_blocked(&self) -> bool {
        self.queue.front().is_some_and(|(d, _)| *d > self.persisted_through)
    }

    /// Drops every queued message (the connection is gone; retransmission regenerates
    /// what matters) but keeps what is known about persistence.
    pub fn clear_messages(&mut self) {
        self.queue.clear();
    }

    /// Messages in flight order.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The queued messages whose updates are durable, in order; stops at the first that
    /// is not, so nothing overtakes it.
    pub fn take_ready(&mut self) -> Vec<M> {
        self.drain_ready().collect()
    }

    /// As [`Self::take_ready`], one message at a time, for a caller that moves them
    /// on without collecting them first.
    pub fn drain_ready(&mut self) -> impl Iterator<Item = M> + '_ {
        core::iter::from_fn(move || {
            let ready = self.queue.front().is_some_and(|(d, _)| *d <= self.persisted_through);
            ready
                .then(|| self.queue.pop_front().map(|(_, message)| message))
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn messages_wait_for_every_earlier_update_and_keep_their_order() {
        let mut outbox = MonitorGatedOutbox::new(0);
        outbox.push(0, "update_add_htlc");
        outbox.push(1, "commitment_signed");
        outbox.push(1, "update_add_htlc 2");
        outbox.push(3, "revoke_and_ack");
        assert_eq!(outbox.len(), 4);
        assert_eq!(outbox.take_ready(), vec!["update_add_htlc"]);
        assert_eq!(outbox.len(), 3);
        // Update 3 completes first: nothing moves, 1 and 2 are not durable.
        outbox.update_completed(3);
        assert!(outbox.take_ready().is_empty());
        assert!(outbox.is_blocked());
        outbox.update_completed(1);
        assert_eq!(outbox.take_ready(), vec!["commitment_signed", "update_add_htlc 2"]);
        assert_eq!(outbox.persisted_through(), 1);
        outbox.update_completed(2);
        assert_eq!(outbox.persisted_through(), 3);
        assert_eq!(outbox.take_ready(), vec!["revoke_and_ack"]);
        assert!(outbox.is_empty() && !outbox.is_blocked());
        // Repeated or old completions change nothing.
        outbox.update_completed(2);
        assert_eq!(outbox.persisted_through(), 3);
        // A message on an update already durable waits for nothing.
        outbox.push(3, "update_fee");
        assert!(!outbox.is_blocked());
        outbox.push(4, "commitment_signed");
        outbox.clear_messages();
        assert!(!outbox.is_blocked());
    }
}
