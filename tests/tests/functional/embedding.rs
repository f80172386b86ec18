//! What a wallet embedding the library relies on: a select loop sees a command's bytes at
//! once, a channel list with balances, events delivered at least once across a crash,
//! and a manager that says when it must be saved.

use std::collections::BTreeMap;

use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::events::Event;
use tests::node_pair::*;

use super::node_e2e::{connected_channel, fund, start_payment, LINK};

/// A select loop asks `has_outbound` before anything else: a payment or an opening the
/// user just asked for is there, with no other call in between.
#[test]
fn a_select_loop_sees_a_command_at_once() {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    assert!(!a.has_outbound(LINK));
    let b_id = b.node_id();
    a.channel_handler_mut()
        .open_channel(b_id, 500_000, 0)
        .expect("connected peer");
    assert!(a.has_outbound(LINK), "the open_channel is waiting");

    let (mut a, mut b, _) = connected_channel();
    assert!(!a.has_outbound(LINK));
    let b_id = b.node_id();
    let (hash, secret) = b.channel_handler_mut().create_inbound_payment(Some(5_000));
    a.channel_handler_mut()
        .send_payment(b_id, hash, secret, 5_000, MIN_FINAL_CLTV_EXPIRY_DELTA)
        .expect("usable channel");
    assert!(a.has_outbound(LINK), "the update_add_htlc is waiting");
}

/// The channel list: capacity, balances, what can be sent and received now, usable only
/// while open and connected, and a cooperatively closed channel gone from it.
#[test]
fn the_channel_list_shows_balances_and_leaves_closed_channels_out() {
    let (mut a, mut b, channel_id) = connected_channel();
    let listed = a.channel_handler().list_channels();
    assert_eq!(listed.len(), 1);
    let ours = &listed[0];
    assert_eq!(
        (ours.channel_id, ours.counterparty_node_id, ours.is_outbound),
        (channel_id, b.node_id(), true)
    );
    assert!(ours.is_usable && ours.phase == ChannelPhase::Normal);
    assert!(ours.balance_msat <= ours.capacity_satoshis * 1000);
    assert!(ours.outbound_capacity_msat > 0 && ours.outbound_capacity_msat < ours.balance_msat);
    assert_eq!(ours.inbound_capacity_msat, 0, "the peer has nothing yet");
    assert!(ours.funding_txid.is_some() && ours.confirmation_height.is_some());

    let hash = start_payment(&mut a, &mut b, 50_000_000, None);
    pump(&mut a, &mut b, LINK);
    let preimage = b.channel_handler().payment_preimage(&hash).expect("ours");
    b.channel_handler_mut().claim_payment(preimage).expect("claimable");
    pump(&mut a, &mut b, LINK);
    let theirs = &b.channel_handler().list_channels()[0];
    assert_eq!(theirs.balance_msat, 50_000_000);
    assert!(!theirs.is_outbound);
    let ours = &a.channel_handler().list_channels()[0];
    assert!(ours.inbound_capacity_msat > 0 && ours.inbound_capacity_msat < 50_000_000);

    disconnect(&mut a, &mut b, LINK);
    let offline = &a.channel_handler().list_channels()[0];
    assert!(!offline.is_usable);
    assert_eq!((offline.outbound_capacity_msat, offline.inbound_capacity_msat), (0, 0));

    connect(&mut a, &mut b, LINK);
    a.channel_handler_mut().close_channel(&channel_id).expect("open");
    pump(&mut a, &mut b, LINK);
    assert!(a.channel_handler().list_channels().is_empty());
    assert!(b.channel_handler().list_channels().is_empty());
}

/// A confirmation reported with its place in the block gives the channel its short
/// channel id (height, index, output), kept across a restart.
#[test]
fn a_funding_confirmed_in_a_block_gets_its_short_channel_id() {
    let (mut a, mut b) = (node(1), node(2));
    connect(&mut a, &mut b, LINK);
    let (channel_id, funding) = fund(&mut a, &mut b);
    for n in [&mut a, &mut b] {
        n.channel_handler_mut().transaction_confirmed_in_block(&funding, 101, 7);
        n.channel_handler_mut().best_block_updated(103);
    }
    pump(&mut a, &mut b, LINK);
    let expected = lightning::wire::ShortChannelId::new(101, 7, 0);
    for n in [&a, &b] {
        let listed = n.channel_handler().list_channels();
        assert_eq!(
            (listed[0].channel_id, listed[0].short_channel_id),
            (channel_id, expected)
        );
    }
    let saved = a.channel_handler().encode();
    let (reloaded, _) = reload(&saved, &a.channel_handler().persister().monitors.clone());
    assert_eq!(reloaded.channel_handler().list_channels()[0].short_channel_id, expected);
}

/// The payee saves its manager after seeing `PaymentClaimable` but before acting on it,
/// then crashes: the event is there again after reload. Acknowledged before the save,
/// it is not.
#[test]
fn an_event_not_yet_handled_survives_a_crash() {
    let (mut a, mut b, _) = connected_channel();
    let hash = start_payment(&mut a, &mut b, 5_000_000, None);
    pump(&mut a, &mut b, LINK);
    let claimable = Event::PaymentClaimable {
        payment_hash: hash,
        amount_msat: 5_000_000,
    };
    let pending = b.channel_handler().pending_events().to_vec();
    assert_eq!(pending, vec![claimable.clone()]);
    let monitors = b.channel_handler().persister().monitors.clone();
    let saved = b.channel_handler().encode();
    let (reloaded, _) = reload(&saved, &monitors);
    assert_eq!(
        reloaded.channel_handler().pending_events(),
        std::slice::from_ref(&claimable)
    );

    b.channel_handler_mut().events_handled(1);
    assert!(b.channel_handler().pending_events().is_empty());
    let saved = b.channel_handler().encode();
    let (reloaded, _) = reload(&saved, &monitors);
    assert!(reloaded.channel_handler().pending_events().is_empty());
    // The payment itself is still claimable: a wallet lists it on start.
    assert_eq!(reloaded.channel_handler().claimable_payments().len(), 1);
}

/// The manager says when it must be saved: after a change, not after the bytes were
/// reported durable or read back; an invoice's preimage is such a change.
#[test]
fn the_manager_says_when_it_must_be_saved() {
    let (mut a, mut b, _) = connected_channel();
    let saved = b.channel_handler().encode();
    b.channel_handler_mut().persisted(&saved);
    assert!(!b.channel_handler().needs_persistence());
    let (hash, _) = b.channel_handler_mut().create_inbound_payment(Some(1_000));
    assert!(b.channel_handler().needs_persistence(), "a new preimage must be saved");
    let saved = b.channel_handler().encode();
    b.channel_handler_mut().persisted(&saved);
    assert!(!b.channel_handler().needs_persistence());
    let (reloaded, _) = reload(&saved, &b.channel_handler().persister().monitors.clone());
    assert!(!reloaded.channel_handler().needs_persistence(), "read from disk");
    assert!(
        reloaded.channel_handler().payment_preimage(&hash).is_some(),
        "the preimage survives with the saved manager"
    );
    start_payment(&mut a, &mut b, 2_000_000, None);
    pump(&mut a, &mut b, LINK);
    assert!(b.channel_handler().needs_persistence(), "a payment changed the channel");
    // The bytes it gives are what `encode` gives: one encoding to ask and to save.
    assert_eq!(
        b.channel_handler().encode_if_changed(),
        Some(b.channel_handler().encode())
    );
}

/// A cooperative close pays each side to the script its key source gave for that
/// channel: by default a P2WPKH of a key of the channel's own (never the node key, so no
/// key is reused on chain) that the wallet can spend, kept across a restart.
#[test]
fn a_close_pays_the_script_the_key_source_gave_for_the_channel() {
    let (a, mut b, channel_id) = connected_channel();
    let monitors = a.channel_handler().persister().monitors.clone();
    let saved = a.channel_handler().encode();
    let (mut a, _) = restart_from(
        &saved,
        [1; 32],
        [201; 32],
        &monitors,
        ChannelManagerConfig::new(regtest(), REGTEST_FEERATE_PER_KW),
        false,
    )
    .expect("reads back");
    b.disconnected(LINK);
    connect(&mut a, &mut b, LINK);
    a.channel_handler_mut().close_channel(&channel_id).expect("open");
    pump(&mut a, &mut b, LINK);
    let closing = a
        .channel_handler()
        .broadcaster()
        .transactions
        .last()
        .cloned()
        .expect("the closing transaction");
    let keys = lightning::sign::KeysManager::new(&[1; 32], &[0; 32]);
    let keys_id = a.channel_handler().channel_keys_id(&channel_id).expect("known");
    let secp = lightning::bitcoin::secp256k1::Secp256k1::new();
    let ours = lightning::bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &keys.shutdown_secret_key(&keys_id));
    let ours = lightning::bitcoin::ScriptBuf::new_p2wpkh(&lightning::bitcoin::CompressedPublicKey(ours).wpubkey_hash());
    let node_key =
        lightning::bitcoin::ScriptBuf::new_p2wpkh(&lightning::bitcoin::CompressedPublicKey(a.node_id()).wpubkey_hash());
    let scripts: Vec<_> = closing.output.iter().map(|o| o.script_pubkey.clone()).collect();
    assert!(scripts.contains(&ours), "{scripts:?}");
    assert!(!scripts.contains(&node_key), "the node key is not reused on chain");
}

fn reload(
    bytes: &[u8],
    monitors: &BTreeMap<lightning::wire::ChannelId, lightning::chain::ChannelMonitor>,
) -> (Node, Vec<Mismatch>) {
    restart_from(
        bytes,
        [2; 32],
        [102; 32],
        monitors,
        ChannelManagerConfig::new(regtest(), REGTEST_FEERATE_PER_KW),
        false,
    )
    .expect("reads back")
}
