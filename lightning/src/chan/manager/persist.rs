//! Channel manager persistence: every channel (state and signer keys id), the payments
//! in flight, the events not yet taken and the monitor updates not yet reported durable,
//! versioned and ending in a TLV stream. On reload each channel is checked against its
//! monitor: updates the monitor lacks and the manager still holds are handed over again;
//! any other mismatch fails the channel without signing anything.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Txid;

use super::forward::ForwardingPolicy;
use super::outbound::{OutboundPart, OutboundPayments};
use super::payments::{ClaimableHtlc, InboundPayment, Payments};
use super::records::{IncompleteRecord, PaymentRecord, RecordList};
use super::resolution::OutgoingFailure;
use super::{ChannelManager, ChannelManagerConfig, HtlcRef, ManagedChannel};
use crate::chain::{Broadcaster, ChannelMonitor, Persist};
use crate::chan::channel::persist::MonitorMismatch;
use crate::chan::channel::Channel;
use crate::chan::monitor_update::ChannelMonitorUpdate;
use crate::chan::outbox::MonitorGatedOutbox;
use crate::events::Event;
use crate::routing::Path;
use crate::sign::{EntropySource, NodeSigner, SignerProvider};
use crate::wire::codec::{decode_option, encode_option};
use crate::wire::tlv::tlv_stream;
use crate::wire::{
    ChannelId, Decode, DecodeError, Encode, OnionPacket, PaymentHash, PaymentPreimage, Reader, TlvValue,
};

/// The encoding version written by this library.
pub const MANAGER_VERSION: u8 = 1;

tlv_stream! {
    /// The manager encoding's trailing records: fields added within a version. Odd types,
    /// so a reader that predates one skips it.
    pub struct ManagerTlvs {
        /// Monitor updates the persister had not reported durable, by channel.
        1 => in_flight_updates: InFlightUpdates,
        /// The heights from which channels we accepted wait for their funding.
        /// Per channel we accepted and whose funding has not confirmed, the best
        /// height when we signed it (`ManagedChannel::funding_wait_since`).
        3 => funding_waits: ChannelRecords<u32>,
        /// Payments the user claimed whose fulfills wait for their channel's peer.
        5 => claiming: ClaimingPayments,
        /// The script each channel closes to, as the wallet gave it at opening.
        7 => shutdown_scripts: ChannelRecords<bitcoin::ScriptBuf>,
        /// Each funding's short channel id, where known.
        9 => short_channel_ids: ChannelRecords<u64>,
        /// Our alias for each channel.
        11 => aliases: ChannelRecords<u64>,
        /// The peer's alias for each channel, where it gave one.
        13 => counterparty_aliases: ChannelRecords<u64>,
        /// Per-channel forwarding policies, where set.
        15 => forwarding_policies: ChannelRecords<ForwardingPolicy>,
        /// Forwards not yet resolved on their incoming channel.
        17 => forwards: RecordList<super::forward::HtlcPair>,
        /// Payments we sent not yet reported.
        19 => outbound_payments: RecordList<PaymentRecord>,
        /// The path of each part of those payments in flight.
        21 => part_paths: RecordList<(HtlcRef, Path)>,
        /// HTLCs we offered that the peer failed, waiting for the failure to be
        /// irrevocable.
        23 => failed_outgoing: RecordList<(HtlcRef, OutgoingFailure)>,
        /// Multi-part payments to us waiting for their other parts.
        25 => incomplete_payments: RecordList<IncompleteRecord>,
    }
}

/// One value per channel, as a manager TLV record: the funding waits, short channel
/// ids, shutdown scripts, aliases and policies (`ManagedChannel` fields added within a
/// version).
pub type ChannelRecords<T> = RecordList<(ChannelId, T)>;

/// The records of every channel for which `value` gives one; none if none does.
fn channel_records<S: crate::sign::ChannelSigner, T: Encode + Decode>(
    channels: &BTreeMap<ChannelId, ManagedChannel<S>>,
    value: impl Fn(&ManagedChannel<S>) -> Option<T>,
) -> Option<ChannelRecords<T>> {
    RecordList::of(
        channels
            .iter()
            .filter_map(|(id, managed)| Some((*id, value(managed)?)))
            .collect(),
    )
}

/// Hashes of payments the user claimed whose fulfills could not go out yet
/// (`Payments::claiming`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimingPayments(pub Vec<PaymentHash>);

impl TlvValue for ClaimingPayments {
    fn value_len(&self) -> usize {
        4 + self.0.len() * 32
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        (self.0.len() as u32).encode(out);
        for hash in &self.0 {
            hash.encode(out);
        }
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let mut hashes = Vec::new();
        for _ in 0..count(&mut r, 32)? {
            hashes.push(PaymentHash::decode(&mut r)?);
        }
        if r.remaining() != 0 {
            return Err(DecodeError::InvalidValue {
                field: "claiming payments",
            });
        }
        Ok(ClaimingPayments(hashes))
    }
}

/// Monitor updates handed to the persister and not reported durable, by channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InFlightUpdates(pub Vec<(ChannelId, ChannelMonitorUpdate)>);

impl InFlightUpdates {
    fn encode_list(&self) -> Vec<u8> {
        let mut out = Vec::new();
        (self.0.len() as u32).encode(&mut out);
        for (channel_id, update) in &self.0 {
            channel_id.encode(&mut out);
            update.encode_to_vec().encode_with_u32_len(&mut out);
        }
        out
    }
}

impl TlvValue for InFlightUpdates {
    fn value_len(&self) -> usize {
        self.encode_list().len()
    }
    fn encode_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.encode_list());
    }
    fn decode_value(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let mut updates = Vec::new();
        for _ in 0..count(&mut r, IN_FLIGHT_RECORD_MIN_LEN)? {
            let channel_id = ChannelId::decode(&mut r)?;
            let len = u32::decode(&mut r)? as usize;
            updates.push((channel_id, ChannelMonitorUpdate::decode_exact(r.take(len)?)?));
        }
        if r.remaining() != 0 {
            return Err(DecodeError::InvalidValue {
                field: "in-flight monitor updates",
            });
        }
        Ok(InFlightUpdates(updates))
    }
}

/// The smallest in-flight update record: a channel id (32) and a length (4).
const IN_FLIGHT_RECORD_MIN_LEN: usize = 36;
/// The smallest channel record: keys id (32), node id (33), two option tags (1 + 1), the
/// minimum depth (4) and the channel's length (4).
const CHANNEL_RECORD_MIN_LEN: usize = 75;

/// Reads a count of records at least `min_item_len` bytes long each.
fn count(r: &mut Reader<'_>, min_item_len: usize) -> Result<u32, DecodeError> {
    let n = u32::decode(r)?;
    r.ensure_room_for(u64::from(n), min_item_len)?;
    Ok(n)
}

impl Payments {
    /// Inbound payments, and the parts of payments we sent with each hop's secret (their
    /// paths and payments are trailing records).
    fn encode(&self, outbound: &OutboundPayments, out: &mut Vec<u8>) {
        (self.inbound.len() as u32).encode(out);
        for (hash, p) in &self.inbound {
            hash.encode(out);
            p.preimage.encode(out);
            p.secret.encode(out);
            match p.amount_msat {
                Some(a) => {
                    out.push(1);
                    a.encode(out);
                }
                None => out.push(0),
            }
        }
        (outbound.parts.len() as u32).encode(out);
        for (htlc, p) in &outbound.parts {
            htlc.channel_id.encode(out);
            htlc.htlc_id.encode(out);
            p.payment_hash.encode(out);
            (p.shared_secrets.len() as u32).encode(out);
            for s in &p.shared_secrets {
                s.encode(out);
            }
        }
        (self.inbound_onions.len() as u32).encode(out);
        for ((channel_id, htlc_id), onion) in &self.inbound_onions {
            channel_id.encode(out);
            htlc_id.encode(out);
            onion.encode(out);
        }
        (self.claimable.len() as u32).encode(out);
        for (hash, htlcs) in &self.claimable {
            hash.encode(out);
            (htlcs.len() as u32).encode(out);
            for htlc in htlcs {
                htlc.channel_id.encode(out);
                htlc.htlc_id.encode(out);
                htlc.amount_msat.encode(out);
                htlc.cltv_expiry.encode(out);
                htlc.shared_secret.encode(out);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<(Self, OutboundPayments), DecodeError> {
        let mut payments = Payments::default();
        let mut outbound = OutboundPayments::default();
        for _ in 0..count(r, 97)? {
            let hash = PaymentHash::decode(r)?;
            let preimage = PaymentPreimage::decode(r)?;
            let secret = <[u8; 32]>::decode(r)?;
            let amount_msat = decode_option::<u64>(r)?;
            payments.inbound.insert(
                hash,
                InboundPayment {
                    preimage,
                    secret,
                    amount_msat,
                },
            );
        }
        for _ in 0..count(r, 76)? {
            let key = HtlcRef::decode(r)?;
            let payment_hash = PaymentHash::decode(r)?;
            let shared_secrets = (0..count(r, 32)?)
                .map(|_| <[u8; 32]>::decode(r))
                .collect::<Result<_, _>>()?;
            // The path comes from the trailing records (none for a manager written
            // before paths: then failures cannot be attributed to a hop).
            let path = crate::routing::Path { hops: Vec::new() };
            outbound.parts.insert(
                key,
                OutboundPart {
                    payment_hash,
                    path,
                    shared_secrets,
                },
            );
        }
        for _ in 0..count(r, 40 + 1366)? {
            let key = (ChannelId::decode(r)?, u64::decode(r)?);
            payments.inbound_onions.insert(key, OnionPacket::decode(r)?);
        }
        for _ in 0..count(r, 36)? {
            let hash = PaymentHash::decode(r)?;
            let htlcs = (0..count(r, 84)?)
                .map(|_| {
                    Ok(ClaimableHtlc {
                        channel_id: ChannelId::decode(r)?,
                        htlc_id: u64::decode(r)?,
                        amount_msat: u64::decode(r)?,
                        cltv_expiry: u32::decode(r)?,
                        shared_secret: <[u8; 32]>::decode(r)?,
                    })
                })
                .collect::<Result<Vec<_>, DecodeError>>()?;
            payments.claimable.insert(hash, htlcs);
        }
        Ok((payments, outbound))
    }
}

impl<K: NodeSigner + EntropySource + SignerProvider, P: Persist, B: Broadcaster> ChannelManager<K, P, B> {
    /// The manager's state: every channel and the payments in flight.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        MANAGER_VERSION.encode(&mut out);
        self.best_height.encode(&mut out);
        (self.channels.len() as u32).encode(&mut out);
        for managed in self.channels.values() {
            managed.keys_id.encode(&mut out);
            managed.counterparty.encode(&mut out);
            match managed.funding_txid {
                Some(txid) => {
                    out.push(1);
                    txid.encode(&mut out);
                }
                None => out.push(0),
            }
            encode_option(&managed.confirmation_height, &mut out);
            managed.minimum_depth.encode(&mut out);
            managed.channel.encode_state().encode_with_u32_len(&mut out);
        }
        self.payments.encode(&self.outbound, &mut out);
        // Events the user has not taken yet: delivered again after a restart.
        (self.events.len() as u32).encode(&mut out);
        for event in &self.events {
            event.encode(&mut out);
        }
        let in_flight: Vec<(ChannelId, ChannelMonitorUpdate)> = self
            .channels
            .iter()
            .flat_map(|(id, managed)| managed.in_flight_updates.iter().map(move |u| (*id, u.clone())))
            .collect();
        ManagerTlvs {
            in_flight_updates: (!in_flight.is_empty()).then_some(InFlightUpdates(in_flight)),
            funding_waits: channel_records(&self.channels, |m| m.funding_wait_since),
            claiming: (!self.payments.claiming.is_empty())
                .then(|| ClaimingPayments(self.payments.claiming.iter().copied().collect())),
            shutdown_scripts: channel_records(&self.channels, |m| Some(m.shutdown_script.clone())),
            short_channel_ids: channel_records(&self.channels, |m| Some(m.short_channel_id?.0)),
            aliases: channel_records(&self.channels, |m| Some(m.alias.0)),
            counterparty_aliases: channel_records(&self.channels, |m| Some(m.counterparty_alias?.0)),
            forwarding_policies: channel_records(&self.channels, |m| m.forwarding_policy),
            forwards: RecordList::of(self.forwards.pairs.values().cloned().collect()),
            outbound_payments: RecordList::of(
                self.outbound
                    .payments
                    .iter()
                    .map(|(hash, p)| PaymentRecord(*hash, p.clone()))
                    .collect(),
            ),
            part_paths: RecordList::of(
                self.outbound
                    .parts
                    .iter()
                    // A part read from a manager written before paths has none to write.
                    .filter(|(_, part)| !part.path.hops.is_empty())
                    .map(|(htlc, part)| (*htlc, part.path.clone()))
                    .collect(),
            ),
            failed_outgoing: RecordList::of(
                self.failed_outgoing
                    .iter()
                    .map(|(htlc, failure)| (*htlc, failure.clone()))
                    .collect(),
            ),
            incomplete_payments: RecordList::of(
                self.payments
                    .incomplete
                    .iter()
                    .map(|(hash, set)| IncompleteRecord(*hash, set.clone()))
                    .collect(),
            ),
            ..ManagerTlvs::default()
        }
        .encode(&mut out);
        out
    }

    /// Reads a manager written by [`ChannelManager::encode`], with the monitors as the
    /// persister holds them. Updates the persister never reported durable and the monitor
    /// lacks are handed to it again (a crash may have lost them), so the channel goes on.
    /// A channel that still does not match its monitor (or has none) is failed at once
    /// and reported with a [`Event::ChannelClosed`]; the mismatches are returned too.
    pub fn read(
        bytes: &[u8],
        config: ChannelManagerConfig,
        keys: K,
        persister: P,
        broadcaster: B,
        monitors: &BTreeMap<ChannelId, ChannelMonitor>,
    ) -> Result<(Self, Vec<(ChannelId, MonitorMismatch)>), DecodeError> {
        let mut r = Reader::new(bytes);
        if u8::decode(&mut r)? != MANAGER_VERSION {
            return Err(DecodeError::InvalidValue {
                field: "manager version",
            });
        }
        let best_height = u32::decode(&mut r)?;
        let mut manager = ChannelManager::new(config, keys, persister, broadcaster, best_height);
        // Channels are checked once the trailing records (their in-flight updates) are read.
        let mut read_channels = Vec::new();
        for _ in 0..count(&mut r, CHANNEL_RECORD_MIN_LEN)? {
            let keys_id = <[u8; 32]>::decode(&mut r)?;
            let counterparty = PublicKey::decode(&mut r)?;
            let funding_txid = decode_option::<Txid>(&mut r)?;
            let confirmation_height = decode_option::<u32>(&mut r)?;
            let minimum_depth = u32::decode(&mut r)?;
            let len = u32::decode(&mut r)? as usize;
            let signer = manager.keys.derive_channel_signer(&keys_id);
            #[allow(unused_mut)]
            let mut channel = Channel::read(r.take(len)?, signer)?;
            #[cfg(feature = "planted-bugs")]
            {
                channel.planted_bug = manager.config.planted_bug;
            }
            read_channels.push(ManagedChannel {
                channel,
                counterparty,
                keys_id,
                // Filled from the trailing records below.
                shutdown_script: bitcoin::ScriptBuf::new(),
                short_channel_id: None,
                alias: crate::wire::ShortChannelId(0),
                counterparty_alias: None,
                forwarding_policy: None,
                outbox: MonitorGatedOutbox::new(0),
                funding_txid,
                confirmation_height,
                minimum_depth,
                funding_wait_since: None,
                closing_negotiation_since: None,
                in_flight_updates: Vec::new(),
            });
        }
        (manager.payments, manager.outbound) = Payments::decode(&mut r)?;
        let mut pending = Vec::new();
        for _ in 0..count(&mut r, 33)? {
            pending.push(Event::decode(&mut r)?);
        }
        let tlvs = ManagerTlvs::decode(&mut r)?;
        manager.payments.claiming = tlvs.claiming.unwrap_or_default().0.into_iter().collect();
        let shutdown_scripts: BTreeMap<ChannelId, bitcoin::ScriptBuf> =
            tlvs.shutdown_scripts.unwrap_or_default().0.into_iter().collect();
        let short_channel_ids: BTreeMap<ChannelId, u64> =
            tlvs.short_channel_ids.unwrap_or_default().0.into_iter().collect();
        let aliases: BTreeMap<ChannelId, u64> = tlvs.aliases.unwrap_or_default().0.into_iter().collect();
        let counterparty_aliases: BTreeMap<ChannelId, u64> =
            tlvs.counterparty_aliases.unwrap_or_default().0.into_iter().collect();
        let policies: BTreeMap<ChannelId, ForwardingPolicy> =
            tlvs.forwarding_policies.unwrap_or_default().0.into_iter().collect();
        for pair in tlvs.forwards.unwrap_or_default().0 {
            manager.forwards.insert(pair);
        }
        for PaymentRecord(hash, payment) in tlvs.outbound_payments.unwrap_or_default().0 {
            manager.outbound.payments.insert(hash, payment);
        }
        for (htlc, path) in tlvs.part_paths.unwrap_or_default().0 {
            if let Some(part) = manager.outbound.parts.get_mut(&htlc) {
                part.path = path;
            }
        }
        for (htlc, failure) in tlvs.failed_outgoing.unwrap_or_default().0 {
            manager.failed_outgoing.insert(htlc, failure);
        }
        for IncompleteRecord(hash, set) in tlvs.incomplete_payments.unwrap_or_default().0 {
            manager.payments.incomplete.insert(hash, set);
        }
        for managed in &mut read_channels {
            let id = managed.channel.channel_id();
            managed.short_channel_id = short_channel_ids
                .get(&id)
                .map(|scid| crate::wire::ShortChannelId(*scid));
            managed.counterparty_alias = counterparty_aliases.get(&id).map(|a| crate::wire::ShortChannelId(*a));
            managed.forwarding_policy = policies.get(&id).copied();
            // A manager written before aliases gets one now.
            managed.alias = match aliases.get(&id) {
                Some(alias) => crate::wire::ShortChannelId(*alias),
                None => manager.alias_for(&managed.keys_id),
            };
            // A manager written before scripts were kept closes to the provider's script.
            managed.shutdown_script = match shutdown_scripts.get(&managed.channel.channel_id()) {
                Some(script) => script.clone(),
                None => manager.keys.shutdown_script(&managed.keys_id),
            };
        }
        let mut in_flight = tlvs.in_flight_updates.unwrap_or_default().0;
        let funding_waits: BTreeMap<ChannelId, u32> = tlvs.funding_waits.unwrap_or_default().0.into_iter().collect();
        let mut mismatches = Vec::new();
        for mut managed in read_channels {
            let channel_id = managed.channel.channel_id();
            managed.funding_wait_since = funding_waits.get(&channel_id).copied();
            let empty = ChannelMonitor::new();
            let monitor = monitors.get(&channel_id).unwrap_or(&empty);
            let monitor_latest = monitor.latest_update_id();
            // What the monitor lacks of this channel's in-flight updates, in id order.
            let mut replay: Vec<ChannelMonitorUpdate> = Vec::new();
            in_flight.retain(|(id, update)| {
                let mine = *id == channel_id;
                if mine && update.update_id > monitor_latest {
                    replay.push(update.clone());
                }
                !mine
            });
            replay.sort_by_key(|u| u.update_id);
            let channel_latest = managed.channel.latest_monitor_update_id();
            // The ids after the monitor's up to the channel's (none if the monitor is not
            // behind; a corrupt monitor may stand at the last u64).
            let covers_the_gap = replay
                .iter()
                .map(|u| u.update_id)
                .eq((monitor_latest..channel_latest).map(|id| id + 1));
            // The funding is checked even where replayed updates fill the gap: ids alone
            // cannot tell another channel's monitor from this one's.
            #[cfg(feature = "planted-bugs")]
            let phase_before = managed.channel.phase();
            #[allow(unused_mut)]
            let mut checked = if replay.is_empty() || !covers_the_gap {
                managed.channel.check_against_monitor(monitor)
            } else {
                managed.channel.check_monitor_funding(monitor)
            };
            #[cfg(feature = "planted-bugs")]
            if manager.config.planted_bug == Some(super::PlantedBug::MonitorBehindRunsOn)
                && matches!(checked, Err(MonitorMismatch::MonitorBehind { .. }))
            {
                managed.channel.phase = phase_before;
                checked = Ok(());
            }
            if let Err(mismatch) = checked {
                let reason = match mismatch {
                    MonitorMismatch::MonitorBehind { .. } => {
                        "monitor lacks updates the channel acted on (our state is stale: not broadcasting)"
                    }
                    MonitorMismatch::ChannelBehind { .. } => "channel older than its monitor: closing from the monitor",
                    MonitorMismatch::OtherFunding { .. } => {
                        "monitor watches another funding than the channel's (not broadcasting)"
                    }
                };
                manager.events.push(Event::ChannelClosed {
                    channel_id,
                    reason: reason.into(),
                });
                mismatches.push((channel_id, mismatch));
                continue;
            }
            managed.outbox = MonitorGatedOutbox::new(monitor_latest);
            manager.channels.insert(channel_id, managed);
            // Handed over again; messages that depend on them wait as before the crash.
            manager.replay_updates(&channel_id, replay);
        }
        // Pending events come first, then the mismatches found while reading.
        pending.append(&mut manager.events);
        manager.events = pending;
        // What was read is on disk; anything reading changed is not.
        manager.persisted_digest = Some(Self::digest(bytes));
        Ok((manager, mismatches))
    }

    fn replay_updates(&mut self, channel_id: &ChannelId, updates: Vec<ChannelMonitorUpdate>) {
        let mut failed = false;
        for update in updates {
            let Some(managed) = self.channels.get_mut(channel_id) else {
                return;
            };
            let status = self.persister.persist(channel_id, &update);
            failed |= !managed.record_persist_status(update, status);
        }
        if failed {
            self.fail_channel(channel_id, "monitor persistence failed".into(), true);
        }
    }
}

trait EncodeWithLen {
    fn encode_with_u32_len(&self, out: &mut Vec<u8>);
}

impl EncodeWithLen for Vec<u8> {
    fn encode_with_u32_len(&self, out: &mut Vec<u8>) {
        (self.len() as u32).encode(out);
        out.extend_from_slice(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chan::monitor_update::MonitorStep;

    fn updates() -> InFlightUpdates {
        InFlightUpdates(alloc::vec![
            (
                ChannelId([1; 32]),
                ChannelMonitorUpdate {
                    update_id: 7,
                    steps: alloc::vec![MonitorStep::CommitmentSecret {
                        commitment_number: 3,
                        secret: [9; 32],
                    }],
                },
            ),
            (
                ChannelId([2; 32]),
                ChannelMonitorUpdate {
                    update_id: 8,
                    steps: alloc::vec![MonitorStep::ChannelClosed],
                },
            ),
        ])
    }

    #[test]
    fn in_flight_updates_read_back() {
        let list = updates();
        let mut bytes = Vec::new();
        list.encode_value(&mut bytes);
        assert_eq!(bytes.len(), list.value_len());
        assert_eq!(InFlightUpdates::decode_value(&bytes), Ok(list));
    }

    #[test]
    fn truncated_or_padded_in_flight_updates_are_errors() {
        let mut bytes = Vec::new();
        updates().encode_value(&mut bytes);
        for len in 0..bytes.len() {
            assert!(InFlightUpdates::decode_value(&bytes[..len]).is_err(), "{len} bytes");
        }
        bytes.push(0);
        assert!(InFlightUpdates::decode_value(&bytes).is_err());
    }
}
