//! `option_upfront_shutdown_script` (BOLT 2): a script committed to at opening binds the
//! committing side's `shutdown`, and the peer's only when both nodes offered the feature.

use lightning::bitcoin::ScriptBuf;
use lightning::chan::channel::establish::OpenChannelParams;
use lightning::chan::channel::{ChannelError, ChannelLimits, ChannelPhase};
use lightning::wire::{ChannelId, Message, NoTlvs, OpenChannel, Shutdown};
use tests::channel_pair::*;

fn shutdown_to(pair: &Pair, script: ScriptBuf) -> Shutdown {
    Shutdown {
        channel_id: pair.nodes[0].channel.channel_id(),
        scriptpubkey: script,
        extension: NoTlvs::default(),
    }
}

fn limits() -> [ChannelLimits; 2] {
    [ChannelLimits::default_for(FUNDING_SATOSHIS); 2]
}

fn open_params(upfront: UpfrontShutdown) -> OpenChannelParams {
    OpenChannelParams {
        chain_hash: chain(),
        temporary_channel_id: ChannelId([9; 32]),
        funding_satoshis: FUNDING_SATOSHIS,
        push_msat: 0,
        feerate_per_kw: 1000,
        limits: limits()[0],
        upfront_shutdown: upfront,
    }
}

fn open_channel(upfront: UpfrontShutdown) -> OpenChannel {
    Chan::new_outbound(signer_for(0), &open_params(upfront))
        .expect("open")
        .1
}

/// Node 1's reply to node 0's `shutdown` to its committed script, offering
/// `reply_script` as where node 1's balance goes.
fn reply_to_committed_shutdown(pair: &mut Pair, reply_script: ScriptBuf) -> Shutdown {
    let committed = shutdown_to(pair, shutdown_script(0));
    pair.nodes[1]
        .channel
        .shutdown(&committed, reply_script)
        .expect("the committed script")
        .expect("a reply")
}

#[test]
fn open_channel_always_carries_the_record_empty_without_a_commitment() {
    let committed = open_channel(committed_upfront(0));
    assert_eq!(committed.tlvs.upfront_shutdown_script, Some(shutdown_script(0)));
    let uncommitted = open_channel(UpfrontShutdown::default());
    assert_eq!(uncommitted.tlvs.upfront_shutdown_script, Some(ScriptBuf::new()));
}

/// BOLT 2: the receiver "MUST fail the connection", not the channel: nothing changes,
/// and the channel goes on (the peer may still send the committed script).
#[test]
fn a_peer_shutdown_to_another_script_than_committed_fails_the_connection() {
    let mut pair = open_pair(0);
    let elsewhere = shutdown_to(&pair, shutdown_script(5));
    assert!(matches!(
        pair.nodes[1].channel.shutdown(&elsewhere, shutdown_script(1)),
        Err(ChannelError::Disconnect(_))
    ));
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Normal, "untouched");
    assert_eq!(pair.nodes[1].channel.close_state().counterparty_script, None);
    assert_eq!(pair.nodes[1].channel.close_state().holder_script, None);
    // The committed script is accepted.
    let mut pair = open_pair(0);
    let reply = reply_to_committed_shutdown(&mut pair, shutdown_script(1));
    assert_eq!(reply.scriptpubkey, shutdown_script(1));
    pair.settle();
}

#[test]
fn our_shutdown_must_use_the_script_we_committed_to() {
    let mut pair = open_pair(0);
    assert!(matches!(
        pair.nodes[0].channel.send_shutdown(shutdown_script(7)),
        Err(ChannelError::Ignore(_))
    ));
    assert_eq!(
        pair.nodes[0].channel.phase(),
        ChannelPhase::Normal,
        "refused, untouched"
    );
    let shutdown = pair.nodes[0]
        .channel
        .send_shutdown(shutdown_script(0))
        .expect("the committed script");
    pair.send(0, Message::Shutdown(shutdown));
    pair.settle();
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Closed);
}

#[test]
fn the_reply_to_a_shutdown_uses_the_committed_script() {
    let mut pair = open_pair(0);
    let reply = reply_to_committed_shutdown(&mut pair, shutdown_script(9));
    assert_eq!(reply.scriptpubkey, shutdown_script(1));
    assert_eq!(
        pair.nodes[1].channel.close_state().holder_script,
        Some(shutdown_script(1))
    );
}

#[test]
fn without_the_feature_on_both_sides_the_peers_script_does_not_bind_but_ours_does() {
    let not_negotiated = |i| UpfrontShutdown {
        holder_script: Some(shutdown_script(i)),
        negotiated: false,
        anysegwit: false,
    };
    let mut pair = open_pair_full(0, limits(), [not_negotiated(0), not_negotiated(1)]);
    assert_eq!(pair.nodes[1].channel.close_state().counterparty_upfront_script, None);
    // BOLT 2 binds a sender to a non-empty script it sent, negotiated or not.
    assert!(matches!(
        pair.nodes[0].channel.send_shutdown(shutdown_script(5)),
        Err(ChannelError::Ignore(_))
    ));
    let elsewhere = shutdown_to(&pair, shutdown_script(5));
    pair.nodes[1]
        .channel
        .shutdown(&elsewhere, shutdown_script(1))
        .expect("not bound by an unnegotiated script");
}

#[test]
fn a_committed_script_of_a_form_shutdown_refuses_fails_the_open_when_negotiated() {
    let mut open = open_channel(committed_upfront(0));
    open.tlvs.upfront_shutdown_script = Some(ScriptBuf::from_bytes(vec![0x51]));
    let accept = |upfront: &UpfrontShutdown| Chan::new_inbound(signer_for(1), chain(), limits()[1], 3, upfront, &open);
    assert!(matches!(accept(&committed_upfront(1)), Err(ChannelError::Close(_))));
    let not_negotiated = UpfrontShutdown {
        holder_script: None,
        negotiated: false,
        anysegwit: false,
    };
    assert!(accept(&not_negotiated).is_ok(), "an unnegotiated record is ignored");
    // Our own script must be a form shutdown allows.
    let params = open_params(UpfrontShutdown {
        holder_script: Some(ScriptBuf::from_bytes(vec![0x51])),
        negotiated: true,
        anysegwit: true,
    });
    assert!(Chan::new_outbound(signer_for(0), &params).is_err());
}

#[test]
fn the_commitments_survive_a_restart() {
    let mut pair = open_pair(0);
    let saved = pair.save(1);
    pair.restart(1, &saved).expect("consistent");
    pair.reconnect().expect("reestablished");
    pair.settle();
    let close = pair.nodes[1].channel.close_state();
    assert_eq!(close.holder_upfront_script, Some(shutdown_script(1)));
    assert_eq!(close.counterparty_upfront_script, Some(shutdown_script(0)));
    assert!(close.upfront_negotiated);
    let elsewhere = shutdown_to(&pair, shutdown_script(5));
    assert!(matches!(
        pair.nodes[1].channel.shutdown(&elsewhere, shutdown_script(1)),
        Err(ChannelError::Disconnect(_))
    ));
}

/// A P2TR script: `OP_1` and a 32-byte push.
fn taproot_script() -> ScriptBuf {
    let mut bytes = vec![0x51, 32];
    bytes.extend([9; 32]);
    ScriptBuf::from_bytes(bytes)
}

/// Neither side commits to a script at opening; `option_shutdown_anysegwit` as given.
fn uncommitted_pair(anysegwit: bool) -> Pair {
    let uncommitted = UpfrontShutdown {
        holder_script: None,
        negotiated: true,
        anysegwit,
    };
    open_pair_full(300_000_000, limits(), [uncommitted.clone(), uncommitted])
}

/// BOLT 2: with `option_shutdown_anysegwit` negotiated, a close may pay to a witness
/// program of a newer version (here P2TR), ours or the peer's; without it, neither side
/// takes one: we refuse to send it, and the peer's is warned about and changes nothing.
#[test]
fn a_taproot_close_needs_option_shutdown_anysegwit() {
    let mut pair = uncommitted_pair(true);
    let shutdown = pair.nodes[0]
        .channel
        .send_shutdown(taproot_script())
        .expect("a newer witness program is allowed");
    pair.send(0, Message::Shutdown(shutdown));
    pair.settle();
    let closing = pair.nodes[1]
        .channel
        .close_state()
        .closing_transaction
        .clone()
        .expect("closed");
    assert!(closing.output.iter().any(|o| o.script_pubkey == taproot_script()));

    let mut pair = uncommitted_pair(false);
    assert!(matches!(
        pair.nodes[0].channel.send_shutdown(taproot_script()),
        Err(ChannelError::Ignore(_))
    ));
    let taproot = shutdown_to(&pair, taproot_script());
    assert!(matches!(
        pair.nodes[1].channel.shutdown(&taproot, shutdown_script(1)),
        Err(ChannelError::Ignore(_))
    ));
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Normal, "untouched");
    // The flag follows the connection: set when a peer offering it connects.
    pair.nodes[1].channel.set_anysegwit_negotiated(true);
    assert!(matches!(
        pair.nodes[1].channel.shutdown(&taproot, shutdown_script(1)),
        Ok(Some(_))
    ));
}

/// A script committed at opening may be a newer witness program only with
/// `option_shutdown_anysegwit` negotiated.
#[test]
fn a_committed_taproot_script_needs_option_shutdown_anysegwit() {
    let committed = |anysegwit| UpfrontShutdown {
        holder_script: Some(taproot_script()),
        negotiated: true,
        anysegwit,
    };
    assert!(Chan::new_outbound(signer_for(0), &open_params(committed(true))).is_ok());
    assert!(Chan::new_outbound(signer_for(0), &open_params(committed(false))).is_err());
    let mut open = open_channel(committed_upfront(0));
    open.tlvs.upfront_shutdown_script = Some(taproot_script());
    let accept = |anysegwit| {
        let ours = UpfrontShutdown {
            anysegwit,
            ..committed_upfront(1)
        };
        Chan::new_inbound(signer_for(1), chain(), limits()[1], 3, &ours, &open)
    };
    let (accepted, _) = accept(true).expect("allowed");
    assert_eq!(
        accepted.close_state().counterparty_upfront_script,
        Some(taproot_script())
    );
    assert!(matches!(accept(false), Err(ChannelError::Close(_))));
}
