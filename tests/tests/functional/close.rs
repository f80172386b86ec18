//! Cooperative close: `shutdown` both ways, HTLCs settling after it, and the
//! `closing_signed` negotiation ending in one closing transaction both signed.

use lightning::chan::channel::{ChannelError, ChannelPhase};
use lightning::sign::ChannelSigner;
use lightning::wire::Message;
use tests::channel_pair::*;

fn closing_outputs(pair: &Pair) -> Vec<(u64, lightning::bitcoin::ScriptBuf)> {
    let a = pair.nodes[0]
        .channel
        .close_state()
        .closing_transaction
        .clone()
        .expect("A closed");
    let b = pair.nodes[1]
        .channel
        .close_state()
        .closing_transaction
        .clone()
        .expect("B closed");
    assert_eq!(a, b, "both hold the same closing transaction");
    assert_eq!(a.input[0].witness.len(), 4, "0, two signatures, the funding script");
    a.output
        .iter()
        .map(|o| (o.value.to_sat(), o.script_pubkey.clone()))
        .collect()
}

/// A channel with 300,000 sat of node 0's 1,000,000 pushed to node 1, and node 0's
/// `shutdown` on its way.
fn shutdown_sent_by_node_0() -> Pair {
    let mut pair = open_pair(300_000_000);
    let shutdown = pair.nodes[0]
        .channel
        .send_shutdown(shutdown_script(0))
        .expect("shutdown");
    pair.send(0, Message::Shutdown(shutdown));
    pair
}

/// [`shutdown_sent_by_node_0`], closed with no HTLC pending.
fn closed_without_htlcs() -> Pair {
    let mut pair = shutdown_sent_by_node_0();
    pair.settle();
    pair
}

#[test]
fn a_close_with_no_htlcs() {
    let pair = closed_without_htlcs();
    for node in &pair.nodes {
        assert_eq!(node.channel.phase(), ChannelPhase::Closed);
        assert!(node.monitor.is_closed(), "the monitor learned of the close");
    }
    let outputs = closing_outputs(&pair);
    let fee = pair.nodes[0].channel.close_state().last_sent_fee_satoshis.expect("fee");
    // The funder pays the fee; the fundee gets its balance.
    assert!(outputs.contains(&(700_000 - fee, shutdown_script(0))), "{outputs:?}");
    assert!(outputs.contains(&(300_000, shutdown_script(1))), "{outputs:?}");
    // The saved channel keeps its closing transaction.
    for (i, node) in pair.nodes.iter().enumerate() {
        let read = Chan::read(&pair.save(i).channel, signer_for(i)).expect("reads back");
        assert_eq!(
            read.close_state().closing_transaction,
            node.channel.close_state().closing_transaction
        );
        assert!(read.close_state().closing_transaction.is_some());
    }
    // Closed: nothing changes any more.
    let mut pair = pair;
    assert!(matches!(
        pair.nodes[0].channel.send_update_fee(5_000),
        Err(ChannelError::Ignore(_))
    ));
}

/// A channel where node 0 paid node 1 100,000 sat with preimage `n`, still pending,
/// and node 1 then shut down; settled. Returns it and the HTLC's id.
fn shut_down_with_an_htlc_pending(n: u8) -> (Pair, u64) {
    let mut pair = open_pair(0);
    let id = pair.pay(0, 100_000_000, n);
    let shutdown = pair.nodes[1]
        .channel
        .send_shutdown(shutdown_script(1))
        .expect("shutdown");
    pair.send(1, Message::Shutdown(shutdown));
    pair.settle();
    (pair, id)
}

#[test]
fn a_close_with_htlcs_pending_waits_for_them() {
    let (mut pair, id) = shut_down_with_an_htlc_pending(1);
    // The HTLC holds the close back, and no new one may be added.
    assert_eq!(pair.nodes[0].channel.phase(), ChannelPhase::ShuttingDown);
    let (_, hash) = preimage(2);
    assert!(matches!(
        pair.nodes[0].channel.send_htlc(1_000_000, hash, 800_000, onion()),
        Err(ChannelError::Ignore(_))
    ));
    let fulfill = pair.nodes[1]
        .channel
        .fulfill_htlc(id, preimage(1).0)
        .expect("committed");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    assert_eq!(pair.nodes[0].channel.phase(), ChannelPhase::Closed);
    let outputs = closing_outputs(&pair);
    assert!(outputs
        .iter()
        .any(|(value, script)| *value == 100_000 && *script == shutdown_script(1)));
}

#[test]
fn an_htlc_after_the_peers_shutdown_fails_the_channel() {
    let mut pair = open_pair(0);
    let shutdown = pair.nodes[0]
        .channel
        .send_shutdown(shutdown_script(0))
        .expect("shutdown");
    pair.nodes[1]
        .channel
        .shutdown(&shutdown, shutdown_script(1))
        .expect("valid");
    let (_, hash) = preimage(3);
    let add = lightning::wire::UpdateAddHtlc {
        channel_id: pair.nodes[0].channel.channel_id(),
        id: 0,
        amount_msat: 1_000_000,
        payment_hash: hash,
        cltv_expiry: 800_000,
        onion_routing_packet: onion(),
        tlvs: Default::default(),
    };
    assert!(matches!(
        pair.nodes[1].channel.update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // A script outside the allowed forms is refused.
    let mut other = open_pair(0);
    let bad = lightning::bitcoin::ScriptBuf::from_bytes(vec![0x51]);
    assert!(matches!(
        other.nodes[0].channel.send_shutdown(bad),
        Err(ChannelError::Ignore(_))
    ));
    other.settle();
}

#[test]
fn a_disconnect_after_shutdown_retransmits_it_and_the_close_finishes() {
    // Every point of the exchange: the first shutdown sent but not received, received,
    // both crossed, the funder's first closing_signed sent, and answered.
    for delivered in 0..5 {
        let mut pair = open_pair(300_000_000);
        let shutdown = pair.nodes[0]
            .channel
            .send_shutdown(shutdown_script(0))
            .expect("shutdown");
        pair.send(0, Message::Shutdown(shutdown));
        for step in 0..delivered {
            match step {
                0 => pair.deliver(1),
                1 => pair.deliver(0),
                2 => {
                    let proposal = pair.nodes[0]
                        .channel
                        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
                        .expect("clear");
                    pair.send(0, Message::ClosingSigned(proposal));
                    Ok(true)
                }
                _ => pair.deliver(1),
            }
            .expect("valid");
        }
        pair.disconnect();
        pair.reconnect().expect("reestablished");
        pair.settle();
        for node in &pair.nodes {
            assert_eq!(node.channel.phase(), ChannelPhase::Closed, "delivered {delivered}");
        }
        let outputs = closing_outputs(&pair);
        assert!(outputs.iter().any(|(_, s)| *s == shutdown_script(0)));
        assert!(outputs.iter().any(|(_, s)| *s == shutdown_script(1)));
    }
}

/// Node `payee` fulfills HTLC `id`, the last one left, and the close then finishes.
#[track_caller]
fn fulfill_then_close(pair: &mut Pair, payee: usize, id: u64, preimage: lightning::wire::PaymentPreimage) {
    let fulfill = pair.nodes[payee].channel.fulfill_htlc(id, preimage).expect("committed");
    pair.send(payee, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    for node in &pair.nodes {
        assert_eq!(node.channel.phase(), ChannelPhase::Closed);
    }
}

/// A channel where node `from` offered 1,000 sat with preimage `n`, on the wire but not
/// yet signed. Returns it and the HTLC's id.
fn with_unsigned_add(from: usize, n: u8) -> (Pair, u64) {
    let mut pair = open_pair(300_000_000);
    let add = pair.nodes[from]
        .channel
        .send_htlc(1_000_000, preimage(n).1, 800_000, onion())
        .expect("add");
    let id = add.id;
    pair.send(from, Message::UpdateAddHtlc(Box::new(add)));
    (pair, id)
}

/// Node `from`'s wire holds its add, the `commitment_signed` covering it, then its
/// `shutdown`; once settled, the HTLC holds the close back at the other end.
#[track_caller]
fn assert_shutdown_follows_the_signed_add(pair: &mut Pair, from: usize) {
    assert!(
        matches!(
            pair.wires[from].iter().collect::<Vec<_>>().as_slice(),
            [Message::UpdateAddHtlc(_), Message::CommitmentSigned(_), Message::Shutdown(s)]
                if s.scriptpubkey == shutdown_script(from)
        ),
        "{:?}",
        pair.wires[from]
    );
    pair.settle();
    assert_eq!(
        pair.nodes[1 - from].channel.phase(),
        ChannelPhase::ShuttingDown,
        "the HTLC holds it"
    );
}

/// BOLT 2: a node must not send `shutdown` while updates of its own are pending on the
/// peer's commitment, the reply included: it follows the `commitment_signed` that
/// signs them, and the close then finishes once the HTLC settles.
#[test]
fn a_shutdown_reply_waits_until_our_pending_updates_are_signed() {
    let (mut pair, id) = with_unsigned_add(1, 4);
    let shutdown = pair.nodes[0]
        .channel
        .send_shutdown(shutdown_script(0))
        .expect("nothing of node 0's is pending");
    pair.send(0, Message::Shutdown(shutdown));
    pair.deliver(1).expect("a valid shutdown");
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::ShuttingDown);
    assert_eq!(pair.nodes[1].channel.close_state().holder_script, None, "not yet");
    assert_eq!(pair.wires[1].len(), 1, "only the add: {:?}", pair.wires[1]);
    pair.commit(1);
    assert_shutdown_follows_the_signed_add(&mut pair, 1);
    fulfill_then_close(&mut pair, 0, id, preimage(4).0);
}

/// A close asked for while an update of ours is unsigned waits for our
/// `commitment_signed` (BOLT 2), where `send_shutdown` refuses; no HTLC may be added
/// meanwhile. The request survives a restart: the update is offered again on
/// reconnection, and the `shutdown` follows its signing.
#[test]
fn a_close_asked_for_with_updates_pending_waits_for_them_to_be_signed() {
    let (mut pair, _) = with_unsigned_add(0, 5);
    assert!(matches!(
        pair.nodes[0].channel.send_shutdown(shutdown_script(0)),
        Err(ChannelError::Ignore(_))
    ));
    let requested = pair.nodes[0].channel.request_shutdown(shutdown_script(0));
    assert!(matches!(requested, Ok(None)), "{requested:?}");
    assert_eq!(pair.nodes[0].channel.phase(), ChannelPhase::ShuttingDown);
    let (_, hash) = preimage(6);
    assert!(matches!(
        pair.nodes[0].channel.send_htlc(1_000_000, hash, 800_000, onion()),
        Err(ChannelError::Ignore(_))
    ));
    pair.commit(0);
    assert_shutdown_follows_the_signed_add(&mut pair, 0);

    let (mut pair, id) = with_unsigned_add(0, 5);
    assert!(matches!(
        pair.nodes[0].channel.request_shutdown(shutdown_script(0)),
        Ok(None)
    ));
    let saved = pair.save(0);
    pair.restart(0, &saved).expect("consistent");
    assert_eq!(
        pair.nodes[0].channel.close_state().requested_script,
        Some(shutdown_script(0)),
        "the request is kept"
    );
    pair.reconnect().expect("reestablished");
    pair.settle();
    assert_eq!(
        pair.nodes[1].channel.close_state().counterparty_script,
        Some(shutdown_script(0))
    );
    fulfill_then_close(&mut pair, 1, id, preimage(5).0);
}

/// The closing fee pays for the closing transaction's real weight (BOLT 3): its estimate
/// counts both signatures at their largest, so it is at most a few weight units above
/// what the signed transaction weighs, and never below.
#[test]
fn the_closing_fee_pays_for_the_closing_transactions_weight() {
    let pair = closed_without_htlcs();
    closing_outputs(&pair);
    let (tx, _) = closed_on(&pair, 0);
    let outputs_sat: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
    let fee_sat = FUNDING_SATOSHIS - outputs_sat;
    let weight = tx.weight().to_wu();
    let feerate_per_kw = pair.nodes[0].channel.holder_view().feerate_per_kw as u64;
    assert!(
        fee_sat >= feerate_per_kw * weight / 1000,
        "fee {fee_sat} sat for {weight} WU"
    );
    assert!(
        fee_sat <= feerate_per_kw * (weight + 4) / 1000,
        "fee {fee_sat} sat overpays {weight} WU"
    );
}

/// BOLT 2's shutdown script forms: P2WPKH, P2WSH, P2PKH and P2SH each pass; with
/// `option_shutdown_anysegwit`, so does a witness program of version 1 to 16 (one push
/// of 2 to 40 bytes). Anything else, such as a bare key, OP_RETURN or a version 0
/// program of another length, does not.
#[test]
fn shutdown_scripts_take_the_four_standard_forms_and_with_anysegwit_newer_programs() {
    use lightning::bitcoin::hashes::Hash;
    use lightning::bitcoin::{PubkeyHash, ScriptBuf, ScriptHash, WPubkeyHash, WScriptHash};
    use lightning::chan::channel::close::is_acceptable_shutdown_script;

    let accepted = [
        ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([1; 20])),
        ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([2; 32])),
        ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array([3; 20])),
        ScriptBuf::new_p2sh(&ScriptHash::from_byte_array([4; 20])),
    ];
    for script in &accepted {
        assert!(is_acceptable_shutdown_script(script, false), "{script}");
        assert!(is_acceptable_shutdown_script(script, true), "{script}");
    }
    // OP_n, then a push of `len` bytes.
    let program = |op: u8, len: u8| {
        let mut bytes = vec![op, len];
        bytes.extend(std::iter::repeat_n(7, usize::from(len)));
        ScriptBuf::from_bytes(bytes)
    };
    let newer = [program(0x51, 32), program(0x51, 2), program(0x60, 40)];
    for script in &newer {
        assert!(!is_acceptable_shutdown_script(script, false), "{script}");
        assert!(is_acceptable_shutdown_script(script, true), "{script}");
    }
    let refused = [
        ScriptBuf::new(),
        ScriptBuf::new_op_return([5; 4]),
        ScriptBuf::from_bytes(vec![0x51]),
        program(0x51, 1),
        program(0x51, 41),
        program(0x00, 25),
        program(0x4f, 32),
    ];
    for script in &refused {
        assert!(!is_acceptable_shutdown_script(script, false), "{script}");
        assert!(!is_acceptable_shutdown_script(script, true), "{script}");
    }
}

/// [`shutdown_sent_by_node_0`] with both `shutdown`s exchanged, no `closing_signed` yet.
fn shut_down_both_ways() -> Pair {
    exchange_shutdowns(open_pair(300_000_000))
}

/// `pair` after node 0's `shutdown` and node 1's answer, ready for `closing_signed`.
fn exchange_shutdowns(mut pair: Pair) -> Pair {
    let shutdown = pair.nodes[0]
        .channel
        .send_shutdown(shutdown_script(0))
        .expect("shutdown");
    pair.send(0, Message::Shutdown(shutdown));
    pair.deliver(1).expect("node 1 answers");
    pair.deliver(0).expect("node 0 reads the answer");
    assert!(pair.nodes.iter().all(|n| n.channel.ready_for_closing_signed()));
    pair
}

/// Only the funder opens the fee negotiation, and only once both `shutdown`s are in.
#[test]
fn only_the_funder_proposes_and_only_when_clear() {
    let mut open = open_pair(300_000_000);
    assert!(!open.nodes[0].channel.closing_proposal_due());
    assert!(matches!(
        open.nodes[0].channel.propose_closing_signed(FEERATE_ESTIMATE_PER_KW),
        Err(ChannelError::Ignore(_))
    ));
    let mut ready = shut_down_both_ways();
    assert!(!ready.nodes[1].channel.closing_proposal_due(), "not the funder");
    assert!(matches!(
        ready.nodes[1].channel.propose_closing_signed(FEERATE_ESTIMATE_PER_KW),
        Err(ChannelError::Ignore(_))
    ));
    assert!(ready.nodes[0].channel.closing_proposal_due());
    assert!(ready.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .is_ok());
    // Once proposed, not again.
    assert!(!ready.nodes[0].channel.closing_proposal_due());
    assert!(matches!(
        ready.nodes[0].channel.propose_closing_signed(FEERATE_ESTIMATE_PER_KW),
        Err(ChannelError::Ignore(_))
    ));
}

/// BOLT 2: once shut down with no HTLC left, no update may be sent: the funder's
/// `update_fee` is refused. While an HTLC remains it may still move the fee (to get
/// that HTLC's transactions confirmed).
#[test]
fn the_fee_moves_after_shutdown_only_while_htlcs_remain() {
    let mut ready = shut_down_both_ways();
    assert!(matches!(
        ready.nodes[0].channel.send_update_fee(2_000),
        Err(ChannelError::Ignore(_))
    ));
    let (mut pair, id) = shut_down_with_an_htlc_pending(1);
    let fee = pair.nodes[0].channel.send_update_fee(2_000).expect("an HTLC remains");
    pair.send(0, Message::UpdateFee(fee));
    pair.settle();
    fulfill_then_close(&mut pair, 1, id, preimage(1).0);

    // The HTLC gone from node 0's commitment but still in node 1's: it remains.
    let (mut pair, id) = shut_down_with_an_htlc_pending(2);
    let fulfill = pair.nodes[1]
        .channel
        .fulfill_htlc(id, preimage(2).0)
        .expect("committed");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.commit(1);
    pair.deliver(0).expect("the fulfill");
    pair.deliver(0).expect("node 0's commitment without the HTLC");
    assert!(pair.nodes[0].channel.holder_view().htlcs.is_empty());
    assert!(!pair.nodes[0].channel.counterparty_view().htlcs.is_empty());
    assert!(pair.nodes[0].channel.send_update_fee(2_000).is_ok());
}

/// Asserts that `result` failed the channel for `reason` (a part of its message).
#[track_caller]
fn assert_fails_channel<T: std::fmt::Debug>(result: Result<T, ChannelError>, reason: &str) {
    match result {
        Err(ChannelError::Close(why)) => {
            assert!(why.mentions(reason), "the channel failed for {why:?}, not {reason:?}")
        }
        other => panic!("expected the channel to fail for {reason:?}, got {other:?}"),
    }
}

/// A `closing_signed` from node `from` at `fee_satoshis` with the fee range
/// `min_fee_satoshis..=max_fee_satoshis`, properly signed with its channel keys: what a
/// peer negotiating its own way could send.
fn closing_signed_by(
    from: usize,
    fee_satoshis: u64,
    min_fee_satoshis: u64,
    max_fee_satoshis: u64,
) -> lightning::wire::ClosingSigned {
    closing_signed_over(from, fee_satoshis, min_fee_satoshis, max_fee_satoshis, |_| {})
}

/// [`closing_signed_by`], signing the closing transaction as `edit` leaves it: a variant
/// of the one both sides build.
fn closing_signed_over(
    from: usize,
    fee_satoshis: u64,
    min_fee_satoshis: u64,
    max_fee_satoshis: u64,
    edit: impl FnOnce(&mut lightning::bitcoin::Transaction),
) -> lightning::wire::ClosingSigned {
    let range = (min_fee_satoshis, max_fee_satoshis);
    closing_signed_in(from, 300_000_000, 546, fee_satoshis, range, edit)
}

/// [`closing_signed_over`] for a channel where node 0 pushed `pushed_msat` to node 1,
/// leaving out outputs below `dust_limit_satoshis`.
fn closing_signed_in(
    from: usize,
    pushed_msat: u64,
    dust_limit_satoshis: u64,
    fee_satoshis: u64,
    (min_fee_satoshis, max_fee_satoshis): (u64, u64),
    edit: impl FnOnce(&mut lightning::bitcoin::Transaction),
) -> lightning::wire::ClosingSigned {
    use lightning::chan::channel::establish::channel_id_from_outpoint;
    use lightning::sign::{ChannelSigner, ChannelTransactionParameters};
    use lightning::wire::{ClosingSigned, ClosingSignedTlvs, FeeRange};

    let mut tx = built_with_one_dust_limit(pushed_msat, dust_limit_satoshis, fee_satoshis);
    let funding_outpoint = tx.input[0].previous_output;
    edit(&mut tx);
    let mut signer = signer_for(from);
    signer.provide_channel_parameters(&ChannelTransactionParameters {
        holder_is_funder: from == 0,
        funding_outpoint,
        funding_satoshis: FUNDING_SATOSHIS,
        counterparty_pubkeys: *signer_for(1 - from).pubkeys(),
        holder_to_self_delay: 144,
        counterparty_to_self_delay: 144,
    });
    let signature = signer.sign_closing_transaction(&tx).expect("signs");
    // The signer signs nothing but a spend of the funding output.
    let mut elsewhere = tx.clone();
    elsewhere.input[0].previous_output.vout = 0;
    assert_eq!(
        signer.sign_closing_transaction(&elsewhere),
        Err(lightning::sign::SignerError::Refused)
    );
    ClosingSigned {
        channel_id: channel_id_from_outpoint(&funding_outpoint),
        fee_satoshis,
        signature,
        tlvs: ClosingSignedTlvs {
            fee_range: Some(FeeRange {
                min_fee_satoshis,
                max_fee_satoshis,
            }),
            ..ClosingSignedTlvs::default()
        },
    }
}

/// A funder's first proposal below the fundee's minimum fee (properly signed, with a fee
/// range reaching into the fundee's) is countered with the lowest fee the fundee accepts,
/// never accepted: the fundee has not agreed to anything yet.
#[test]
fn a_first_proposal_below_our_range_is_countered() {
    let mut pair = shut_down_both_ways();
    let low_fee_satoshis = 10;
    let proposal = closing_signed_by(0, low_fee_satoshis, low_fee_satoshis, 700_000);
    assert_eq!(proposal.channel_id, pair.nodes[1].channel.channel_id());
    let counter = pair.nodes[1]
        .channel
        .closing_signed(&proposal, FEERATE_ESTIMATE_PER_KW)
        .expect("a valid proposal")
        .expect("countered");
    let range = counter.tlvs.fee_range.expect("our range");
    let min = range.min_fee_satoshis;
    assert!(min > low_fee_satoshis);
    // The most the funder can pay: all it has (700,000 sat).
    assert_eq!(range.max_fee_satoshis, 700_000);
    assert_eq!(counter.fee_satoshis, min);
    assert_ne!(pair.nodes[1].channel.phase(), ChannelPhase::Closed);
}

/// A fundee answering the funder's proposal with a fee below the funder's range (signed,
/// its own range overlapping) is not accepted: the funder, having proposed, only takes
/// fees inside the overlap, and anything else fails the channel.
#[test]
fn a_fundee_counter_outside_the_overlap_is_refused() {
    let mut pair = shut_down_both_ways();
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let funder_min = proposal.tlvs.fee_range.expect("range").min_fee_satoshis;
    let low_fee_satoshis = 10;
    assert!(low_fee_satoshis < funder_min);
    let counter = closing_signed_by(1, low_fee_satoshis, low_fee_satoshis, 700_000);
    assert_fails_channel(
        pair.nodes[0].channel.closing_signed(&counter, FEERATE_ESTIMATE_PER_KW),
        "outside the agreed range",
    );
    assert_ne!(pair.nodes[0].channel.phase(), ChannelPhase::Closed);
}

/// Fee ranges that meet at a single fee overlap at that fee: a proposal of it closes the
/// channel.
#[test]
fn ranges_meeting_at_one_fee_agree_on_it() {
    // The fundee's minimum, from its counter to a proposal below its range.
    let mut probe = shut_down_both_ways();
    let counter = probe.nodes[1]
        .channel
        .closing_signed(&closing_signed_by(0, 10, 10, 700_000), FEERATE_ESTIMATE_PER_KW)
        .expect("valid")
        .expect("countered");
    let fundee_min = counter.tlvs.fee_range.expect("range").min_fee_satoshis;

    let mut pair = shut_down_both_ways();
    let proposal = closing_signed_by(0, fundee_min, 10, fundee_min);
    let reply = pair.nodes[1]
        .channel
        .closing_signed(&proposal, FEERATE_ESTIMATE_PER_KW)
        .expect("the one fee both accept");
    assert_eq!(reply.map(|r| r.fee_satoshis), Some(fundee_min));
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Closed);
}

/// A fundee that has countered takes only fees inside the overlap from then on: a second
/// proposal outside it fails the channel instead of another counter.
#[test]
fn a_second_proposal_outside_the_overlap_fails_the_channel() {
    let mut pair = shut_down_both_ways();
    let low = closing_signed_by(0, 10, 10, 700_000);
    let counter = pair.nodes[1]
        .channel
        .closing_signed(&low, FEERATE_ESTIMATE_PER_KW)
        .expect("valid");
    assert!(counter.is_some(), "countered");
    assert_fails_channel(
        pair.nodes[1].channel.closing_signed(&low, FEERATE_ESTIMATE_PER_KW),
        "outside the agreed range",
    );
}

/// BOLT 3 lets the signer of a legacy closing transaction eliminate its own output, and
/// BOLT 2 has the receiver take a signature valid for either variant: the fundee
/// answering the funder's fee without its own output closes the channel on that variant,
/// both signatures on it.
#[test]
fn a_peer_that_eliminates_its_own_output_closes_on_that_variant() {
    let mut pair = shut_down_both_ways();
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let (fee, range) = (proposal.fee_satoshis, proposal.tlvs.fee_range.expect("range"));
    let fundee_script = shutdown_script(1);
    let answer = closing_signed_over(1, fee, range.min_fee_satoshis, range.max_fee_satoshis, |tx| {
        tx.output.retain(|o| o.script_pubkey != fundee_script)
    });
    let reply = pair.nodes[0].channel.closing_signed(&answer, FEERATE_ESTIMATE_PER_KW);
    assert!(matches!(reply, Ok(None)), "the fee both signed closes: {reply:?}");
    assert_eq!(pair.nodes[0].channel.phase(), ChannelPhase::Closed);
    let (tx, outputs) = closed_on(&pair, 0);
    assert_eq!(outputs, vec![(700_000 - fee, shutdown_script(0))]);
    assert_witness_signs(&pair, &tx);
}

/// The fundee taking the funder's first proposal, signed without the funder's own
/// output, answers with its signature on that same variant and closes on it.
#[test]
fn a_first_proposal_without_the_proposers_output_is_signed_as_it_is() {
    let mut pair = shut_down_both_ways();
    let probe = shut_down_both_ways().nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("the funder's own proposal");
    let (fee, range) = (probe.fee_satoshis, probe.tlvs.fee_range.expect("range"));
    let funder_script = shutdown_script(0);
    let proposal = closing_signed_over(0, fee, range.min_fee_satoshis, range.max_fee_satoshis, |tx| {
        tx.output.retain(|o| o.script_pubkey != funder_script)
    });
    let reply = pair.nodes[1]
        .channel
        .closing_signed(&proposal, FEERATE_ESTIMATE_PER_KW)
        .expect("a valid variant")
        .expect("the fundee answers");
    assert_eq!(reply.fee_satoshis, fee);
    let (tx, outputs) = closed_on(&pair, 1);
    assert_eq!(outputs, vec![(300_000, shutdown_script(1))]);
    assert_witness_signs(&pair, &tx);
    // The answer signs the variant the funder signed, not the fundee's own build.
    let mut unsigned = tx.clone();
    unsigned.input[0].witness = lightning::bitcoin::Witness::new();
    assert!(signs(&pair, &unsigned, &reply.signature, 1));
}

/// A channel where node 0 (dust limit 546, the default) pushed `pushed_msat` to node 1
/// (dust limit 354), both `shutdown`s exchanged, and node 0's first proposal.
fn funder_at_546_and_fundee_at_354(pushed_msat: u64) -> (Pair, lightning::wire::ClosingSigned) {
    use lightning::chan::channel::ChannelLimits;
    let funder_limits = ChannelLimits::default_for(FUNDING_SATOSHIS);
    assert_eq!(funder_limits.dust_limit_satoshis, 546);
    let fundee_limits = ChannelLimits {
        dust_limit_satoshis: 354,
        ..funder_limits
    };
    let mut pair = exchange_shutdowns(open_pair_with(pushed_msat, funder_limits, fundee_limits));
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    (pair, proposal)
}

/// BOLT 3 has each signer leave out outputs below its own dust limit: a fundee whose
/// limit is lower keeps its 400-sat output, which the funder's limit (546) would drop, and
/// the funder takes that signature and closes on the fundee's transaction.
#[test]
fn a_peer_with_a_lower_dust_limit_signs_with_its_own() {
    let pushed_msat = 400_000;
    let (mut pair, proposal) = funder_at_546_and_fundee_at_354(pushed_msat);
    let (fee, range) = (proposal.fee_satoshis, proposal.tlvs.fee_range.expect("range"));
    let answer = closing_signed_in(
        1,
        pushed_msat,
        354,
        fee,
        (range.min_fee_satoshis, range.max_fee_satoshis),
        |_| {},
    );
    let reply = pair.nodes[0].channel.closing_signed(&answer, FEERATE_ESTIMATE_PER_KW);
    assert!(matches!(reply, Ok(None)), "the fee both signed closes: {reply:?}");
    let (tx, outputs) = closed_on(&pair, 0);
    assert_eq!(
        outputs,
        vec![
            (400, shutdown_script(1)),
            (FUNDING_SATOSHIS - 400 - fee, shutdown_script(0))
        ]
    );
    assert_witness_signs(&pair, &tx);
}

/// A channel where node 0 (dust limit 354) pushed 400 sat to node 1 (dust limit 546),
/// both `shutdown`s exchanged; and node 0's proposal in a copy of it.
fn shut_down_with_node_1_at_400_sat() -> (Pair, lightning::wire::ClosingSigned) {
    let proposal = node_1_at_400_sat_shut_down().nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    (node_1_at_400_sat_shut_down(), proposal)
}

fn node_1_at_400_sat_shut_down() -> Pair {
    use lightning::chan::channel::ChannelLimits;
    let fundee_limits = ChannelLimits::default_for(FUNDING_SATOSHIS);
    let funder_limits = ChannelLimits {
        dust_limit_satoshis: 354,
        ..fundee_limits
    };
    exchange_shutdowns(open_pair_with(400_000, funder_limits, fundee_limits))
}

/// Both allowances at once: a funder with the lower dust limit (354) that eliminates its
/// own output leaves only the fundee's 400 sat, which the fundee's own limit (546) would
/// have dropped; the fundee takes it and closes on that transaction.
#[test]
fn a_peer_with_a_lower_dust_limit_may_also_eliminate_its_own_output() {
    let (mut pair, probe) = shut_down_with_node_1_at_400_sat();
    let (fee, range) = (probe.fee_satoshis, probe.tlvs.fee_range.expect("range"));
    let funder_script = shutdown_script(0);
    let proposal = closing_signed_in(
        0,
        400_000,
        354,
        fee,
        (range.min_fee_satoshis, range.max_fee_satoshis),
        |tx| tx.output.retain(|o| o.script_pubkey != funder_script),
    );
    let reply = pair.nodes[1].channel.closing_signed(&proposal, FEERATE_ESTIMATE_PER_KW);
    assert!(matches!(reply, Ok(Some(_))), "taken and answered: {reply:?}");
    let (tx, outputs) = closed_on(&pair, 1);
    assert_eq!(outputs, vec![(400, shutdown_script(1))]);
    assert_witness_signs(&pair, &tx);
}

/// A closing transaction left without outputs (the funder gave up its own, the fundee's
/// is below the fundee's dust limit) is invalid: a signature over it is refused.
#[test]
fn a_signature_over_a_close_without_outputs_is_refused() {
    let (mut pair, probe) = shut_down_with_node_1_at_400_sat();
    let (fee, range) = (probe.fee_satoshis, probe.tlvs.fee_range.expect("range"));
    let proposal = closing_signed_in(
        0,
        400_000,
        546,
        fee,
        (range.min_fee_satoshis, range.max_fee_satoshis),
        |tx| tx.output.clear(),
    );
    assert_fails_channel(
        pair.nodes[1].channel.closing_signed(&proposal, FEERATE_ESTIMATE_PER_KW),
        "invalid closing signature",
    );
    assert_ne!(pair.nodes[1].channel.phase(), ChannelPhase::Closed);
}

/// Both nodes may close to one script: the peer's output is then told from ours by its
/// value too. The funder's first proposal without its own output, when both close to
/// node 0's script, leaves the fundee its 300,000 sat (the smaller, first in order).
#[test]
fn a_peer_closing_to_our_script_gives_up_its_own_output_not_ours() {
    use lightning::chan::channel::establish::UpfrontShutdown;
    let shared = UpfrontShutdown {
        holder_script: Some(shutdown_script(0)),
        negotiated: true,
        anysegwit: true,
    };
    let shut_down = || {
        let limits = lightning::chan::channel::ChannelLimits::default_for(FUNDING_SATOSHIS);
        exchange_shutdowns(open_pair_full(
            300_000_000,
            [limits, limits],
            [shared.clone(), shared.clone()],
        ))
    };
    let probe = shut_down().nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let (fee, range) = (probe.fee_satoshis, probe.tlvs.fee_range.expect("range"));
    let script = shutdown_script(0);
    let proposal = closing_signed_over(0, fee, range.min_fee_satoshis, range.max_fee_satoshis, |tx| {
        tx.output.retain(|o| o.value.to_sat() == 300_000);
        tx.output[0].script_pubkey = script.clone();
    });
    let mut pair = shut_down();
    let reply = pair.nodes[1].channel.closing_signed(&proposal, FEERATE_ESTIMATE_PER_KW);
    assert!(matches!(reply, Ok(Some(_))), "taken and answered: {reply:?}");
    let (tx, outputs) = closed_on(&pair, 1);
    assert_eq!(outputs, vec![(300_000, shutdown_script(0))]);
    assert_witness_signs(&pair, &tx);
}

/// BOLT 2: fee ranges without overlap are answered with a `warning` (the channel refuses
/// the message and goes on), and the channel fails only if no satisfying range comes in
/// time; a later proposal inside the overlap still closes it.
#[test]
fn closing_ranges_without_overlap_are_warned_about_not_failed() {
    let mut pair = shut_down_both_ways();
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let (fee, range) = (proposal.fee_satoshis, proposal.tlvs.fee_range.expect("range"));
    let low = range.min_fee_satoshis - 1;
    let apart = closing_signed_by(1, low, 1, low);
    assert!(matches!(
        pair.nodes[0].channel.closing_signed(&apart, FEERATE_ESTIMATE_PER_KW),
        Err(ChannelError::Ignore(why)) if why.mentions("no overlap")
    ));
    assert_ne!(pair.nodes[0].channel.phase(), ChannelPhase::Closed);
    let satisfying = closing_signed_by(1, fee, range.min_fee_satoshis, range.max_fee_satoshis);
    let reply = pair.nodes[0]
        .channel
        .closing_signed(&satisfying, FEERATE_ESTIMATE_PER_KW);
    assert!(matches!(reply, Ok(None)), "the fee both signed closes: {reply:?}");
    assert_eq!(pair.nodes[0].channel.phase(), ChannelPhase::Closed);
}

/// BOLT 2: a `shutdown` whose script is in none of the allowed forms is answered with a
/// `warning` (refused, the channel goes on), not a failed channel; the same peer's valid
/// `shutdown` afterwards starts the close.
#[test]
fn a_shutdown_to_an_unsupported_script_is_warned_about() {
    let mut pair = open_pair(300_000_000);
    let channel_id = pair.nodes[1].channel.channel_id();
    let shutdown_to = |scriptpubkey| lightning::wire::Shutdown {
        channel_id,
        scriptpubkey,
        extension: Default::default(),
    };
    let bad = shutdown_to(lightning::bitcoin::ScriptBuf::new_op_return([5; 4]));
    assert!(matches!(
        pair.nodes[1].channel.shutdown(&bad, shutdown_script(1)),
        Err(ChannelError::Ignore(why)) if why.mentions("unsupported shutdown script")
    ));
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Normal);
    assert_eq!(pair.nodes[1].channel.close_state().counterparty_script, None);
    let reply = pair.nodes[1]
        .channel
        .shutdown(&shutdown_to(shutdown_script(0)), shutdown_script(1))
        .expect("a valid shutdown");
    assert_eq!(reply.map(|r| r.scriptpubkey), Some(shutdown_script(1)));
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::ShuttingDown);
}

/// A channel where node 0 (dust limit `funder_dust_satoshis`) pushed 400 sat to node 1,
/// whose dust limit is 354 and whose `shutdown` script is P2PKH (relayed from 546 sat),
/// with both `shutdown`s exchanged.
fn node_1_at_400_sat_to_p2pkh(funder_dust_satoshis: u64) -> Pair {
    node_1_to_p2pkh(400_000, funder_dust_satoshis)
}

/// [`node_1_at_400_sat_to_p2pkh`] with `pushed_msat` pushed to node 1.
fn node_1_to_p2pkh(pushed_msat: u64, funder_dust_satoshis: u64) -> Pair {
    use lightning::bitcoin::hashes::Hash;
    use lightning::bitcoin::PubkeyHash;
    use lightning::chan::channel::establish::UpfrontShutdown;
    use lightning::chan::channel::ChannelLimits;
    let funder_limits = ChannelLimits {
        dust_limit_satoshis: funder_dust_satoshis,
        ..ChannelLimits::default_for(FUNDING_SATOSHIS)
    };
    let fundee_limits = ChannelLimits {
        dust_limit_satoshis: 354,
        ..funder_limits
    };
    let p2pkh = UpfrontShutdown {
        holder_script: Some(lightning::bitcoin::ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array(
            [7; 20],
        ))),
        negotiated: true,
        anysegwit: true,
    };
    exchange_shutdowns(open_pair_full(
        pushed_msat,
        [funder_limits, fundee_limits],
        [committed_upfront(0), p2pkh],
    ))
}

/// BOLT 2: a closing transaction with an output below its script's relay threshold fails
/// the channel, even signed at the signer's own dust limit: here node 1's 400-sat P2PKH
/// output (above its limit of 354, below P2PKH's 546).
#[test]
fn a_closing_output_the_network_would_not_relay_fails_the_channel() {
    use lightning::bitcoin::hashes::Hash;
    use lightning::bitcoin::PubkeyHash;
    let mut pair = node_1_at_400_sat_to_p2pkh(546);
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let (fee, range) = (proposal.fee_satoshis, proposal.tlvs.fee_range.expect("range"));
    let p2pkh = lightning::bitcoin::ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array([7; 20]));
    let fundee_script = shutdown_script(1);
    let answer = closing_signed_in(
        1,
        400_000,
        354,
        fee,
        (range.min_fee_satoshis, range.max_fee_satoshis),
        |tx| {
            for output in &mut tx.output {
                if output.script_pubkey == fundee_script {
                    output.script_pubkey = p2pkh.clone();
                }
            }
        },
    );
    assert_fails_channel(
        pair.nodes[0].channel.closing_signed(&answer, FEERATE_ESTIMATE_PER_KW),
        "relay dust threshold",
    );
}

/// Two nodes of ours agree on a close that leaves such an output out, though both dust
/// limits (354) are below it.
#[test]
fn a_close_leaves_out_an_output_the_network_would_not_relay() {
    let mut pair = node_1_at_400_sat_to_p2pkh(354);
    pair.settle();
    for node in &pair.nodes {
        assert_eq!(node.channel.phase(), ChannelPhase::Closed);
    }
    let (tx, _) = closed_on(&pair, 0);
    assert_eq!(tx.output.len(), 1, "only the funder's output: {:?}", tx.output);
    assert_eq!(tx.output[0].script_pubkey, shutdown_script(0));
    assert_witness_signs(&pair, &tx);
}

/// [`closing_signed_by`] without a `fee_range`: what a peer using BOLT 2's older
/// negotiation sends.
fn closing_signed_without_range_by(from: usize, fee_satoshis: u64) -> lightning::wire::ClosingSigned {
    let mut msg = closing_signed_by(from, fee_satoshis, 0, 0);
    msg.tlvs.fee_range = None;
    msg
}

/// A peer without `fee_range` proposing a fee we accept gets it back, and the channel
/// closes on it.
#[test]
fn a_proposal_without_a_fee_range_that_we_accept_closes() {
    let mut pair = shut_down_both_ways();
    let probe = shut_down_both_ways().nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let fee = probe.fee_satoshis;
    let reply = pair.nodes[1]
        .channel
        .closing_signed(&closing_signed_without_range_by(0, fee), FEERATE_ESTIMATE_PER_KW)
        .expect("valid")
        .expect("answered");
    assert_eq!(reply.fee_satoshis, fee);
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Closed);
}

/// Without `fee_range`, fees move strictly between the last two: the fundee counters a
/// fee below its minimum with its minimum; a next fee not strictly between the two fails
/// the channel, and so does one between them but still below the minimum (the fundee has
/// nothing left to offer); the funder taking the counter closes it.
#[test]
fn proposals_without_a_fee_range_move_strictly_between_the_last_two() {
    let mut pair = shut_down_both_ways();
    let counter = pair.nodes[1]
        .channel
        .closing_signed(&closing_signed_without_range_by(0, 10), FEERATE_ESTIMATE_PER_KW)
        .expect("valid")
        .expect("countered");
    let fundee_min = counter.fee_satoshis;
    assert!(fundee_min > 10);
    assert_eq!(counter.tlvs.fee_range.map(|r| r.min_fee_satoshis), Some(fundee_min));
    // A fee not strictly between 10 and the counter fails the channel.
    let mut stuck = shut_down_both_ways();
    stuck.nodes[1]
        .channel
        .closing_signed(&closing_signed_without_range_by(0, 10), FEERATE_ESTIMATE_PER_KW)
        .expect("valid");
    assert_fails_channel(
        stuck.nodes[1]
            .channel
            .closing_signed(&closing_signed_without_range_by(0, 10), FEERATE_ESTIMATE_PER_KW),
        "strictly between",
    );
    // Strictly between but still below the fundee's minimum: countered again would
    // repeat its offer, so the channel fails.
    let mut short = shut_down_both_ways();
    short.nodes[1]
        .channel
        .closing_signed(&closing_signed_without_range_by(0, 10), FEERATE_ESTIMATE_PER_KW)
        .expect("valid");
    assert_fails_channel(
        short.nodes[1].channel.closing_signed(
            &closing_signed_without_range_by(0, fundee_min - 1),
            FEERATE_ESTIMATE_PER_KW,
        ),
        "never reach our range",
    );
    // Taking the fundee's counter closes the channel, nothing more to answer.
    let reply = pair.nodes[1]
        .channel
        .closing_signed(&closing_signed_without_range_by(0, fundee_min), FEERATE_ESTIMATE_PER_KW)
        .expect("valid");
    assert!(reply.is_none(), "{reply:?}");
    assert_eq!(pair.nodes[1].channel.phase(), ChannelPhase::Closed);
}

/// An output of exactly its script's relay threshold relays: node 1's 546-sat P2PKH output
/// stays in the close, which both nodes sign.
#[test]
fn a_closing_output_at_its_relay_threshold_is_kept() {
    let mut pair = node_1_to_p2pkh(546_000, 354);
    pair.settle();
    let (tx, outputs) = closed_on(&pair, 1);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert_eq!(outputs[0].0, 546);
    assert!(outputs[0].1.is_p2pkh());
    assert_witness_signs(&pair, &tx);
}

/// Only the signer's own output may go: a signature over the closing transaction without
/// ours is refused, whatever the fee.
#[test]
fn a_signature_over_a_close_without_our_output_is_refused() {
    let mut pair = shut_down_both_ways();
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let (fee, range) = (proposal.fee_satoshis, proposal.tlvs.fee_range.expect("range"));
    let funder_script = shutdown_script(0);
    let answer = closing_signed_over(1, fee, range.min_fee_satoshis, range.max_fee_satoshis, |tx| {
        tx.output.retain(|o| o.script_pubkey != funder_script)
    });
    assert_fails_channel(
        pair.nodes[0].channel.closing_signed(&answer, FEERATE_ESTIMATE_PER_KW),
        "invalid closing signature",
    );
    assert_ne!(pair.nodes[0].channel.phase(), ChannelPhase::Closed);
}

/// Whether `signature` by node `signer`'s funding key signs `tx`'s spend of the pair's
/// funding output.
fn signs(
    pair: &Pair,
    tx: &lightning::bitcoin::Transaction,
    signature: &lightning::bitcoin::secp256k1::ecdsa::Signature,
    signer: usize,
) -> bool {
    use lightning::chan::script::funding_redeem_script;
    use lightning::chan::signing::verify_p2wsh_input;
    let keys = [0, 1].map(|i| pair.nodes[i].channel.signer().pubkeys().funding_pubkey);
    let secp = lightning::bitcoin::secp256k1::Secp256k1::verification_only();
    let script = funding_redeem_script(&keys[0], &keys[1]);
    verify_p2wsh_input(&secp, tx, 0, &script, FUNDING_SATOSHIS, signature, &keys[signer])
}

/// Node `i`'s closing transaction, and its outputs as (amount, script).
fn closed_on(
    pair: &Pair,
    i: usize,
) -> (
    lightning::bitcoin::Transaction,
    Vec<(u64, lightning::bitcoin::ScriptBuf)>,
) {
    let tx = pair.nodes[i]
        .channel
        .close_state()
        .closing_transaction
        .clone()
        .expect("closed");
    let outputs = tx
        .output
        .iter()
        .map(|o| (o.value.to_sat(), o.script_pubkey.clone()))
        .collect();
    (tx, outputs)
}

/// The closing transaction's witness holds both nodes' valid signatures on it.
fn assert_witness_signs(pair: &Pair, tx: &lightning::bitcoin::Transaction) {
    use lightning::bitcoin::secp256k1::ecdsa::Signature;
    let witness: Vec<&[u8]> = tx.input[0].witness.iter().collect();
    assert_eq!(witness.len(), 4, "0, two signatures, the funding script");
    let mut unsigned = tx.clone();
    unsigned.input[0].witness = lightning::bitcoin::Witness::new();
    let mut signed_by = Vec::new();
    for raw in &witness[1..3] {
        let signature = Signature::from_der(&raw[..raw.len() - 1]).expect("a DER signature and its sighash byte");
        signed_by.extend((0..2).filter(|&i| signs(pair, &unsigned, &signature, i)));
    }
    signed_by.sort();
    assert_eq!(signed_by, vec![0, 1], "both nodes' signatures sign this transaction");
}

/// The transaction a peer that drops outputs below its own dust limit builds itself
/// (and checks our signature against), at `fee_satoshis`, for a pair where node 0 pushed
/// `pushed_msat`.
fn built_with_one_dust_limit(
    pushed_msat: u64,
    dust_limit_satoshis: u64,
    fee_satoshis: u64,
) -> lightning::bitcoin::Transaction {
    use lightning::bitcoin::hashes::Hash;
    use lightning::bitcoin::{OutPoint, Txid};
    use lightning::chan::closing::{build_closing_transaction, ClosingParams};
    let (funder_script, fundee_script) = (shutdown_script(0), shutdown_script(1));
    build_closing_transaction(&ClosingParams {
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array([5; 32]),
            vout: 1,
        },
        to_funder_msat: FUNDING_SATOSHIS * 1000 - pushed_msat,
        to_fundee_msat: pushed_msat,
        funder_script: &funder_script,
        fundee_script: &fundee_script,
        fee_satoshis,
        funder_dust_limit_satoshis: dust_limit_satoshis,
        fundee_dust_limit_satoshis: dust_limit_satoshis,
        eliminated: None,
    })
}

/// A funder whose dust limit (546) is above the fundee's (354), the fundee's balance
/// between them (400 sat): the funder signs the transaction that keeps the fundee's
/// output, the one a fundee building with its own dust limit accepts. Signing only the
/// variant without it turned such closes into force closes with other implementations.
/// At exactly the fundee's limit the output is left out: below ours, and left out by a
/// fundee that drops an output at its limit (LDK); BOLT 3's fundee accepts that variant
/// as the signer's.
#[test]
fn a_funder_with_the_higher_dust_limit_signs_the_output_the_peer_keeps() {
    for (fundee_balance_sat, fundee_output_kept) in [
        (300, false),
        (354, false),
        (355, true),
        (400, true),
        (545, true),
        (600, true),
    ] {
        let pushed_msat = fundee_balance_sat * 1000;
        let (mut pair, proposal) = funder_at_546_and_fundee_at_354(pushed_msat);
        // The fundee's build, leaving out what is at its limit (as LDK does).
        let fundees_own = built_with_one_dust_limit(pushed_msat, 355, proposal.fee_satoshis);
        assert_eq!(fundees_own.output.len(), if fundee_output_kept { 2 } else { 1 });
        assert!(
            signs(&pair, &fundees_own, &proposal.signature, 0),
            "fundee at {fundee_balance_sat} sat: the funder signs what the fundee builds"
        );
        // And our own fundee agrees on it.
        pair.send(0, Message::ClosingSigned(proposal));
        pair.settle();
        let (tx, outputs) = closed_on(&pair, 0);
        assert_eq!(
            outputs.iter().any(|(_, script)| *script == shutdown_script(1)),
            fundee_output_kept
        );
        assert_eq!(closed_on(&pair, 1).0, tx, "both hold one closing transaction");
    }
}

/// A funder offers no more fee than its estimate asks for the closing transaction: a
/// fundee that picks the top of the overlap of the two fee ranges (BOLT 2 lets it) closes
/// at the estimate's fee, not at the funder's whole balance.
#[test]
fn a_fundee_taking_the_top_of_our_range_pays_only_the_estimate() {
    let mut pair = shut_down_both_ways();
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let range = proposal.tlvs.fee_range.expect("a range");
    // The fundee's range reaches the funder's whole balance (700,000 sat); it takes the
    // highest fee both accept.
    let top = range.max_fee_satoshis.min(700_000);
    let answer = closing_signed_by(1, top, 0, 700_000);
    let reply = pair.nodes[0].channel.closing_signed(&answer, FEERATE_ESTIMATE_PER_KW);
    // The top is the fee we proposed: agreed, nothing more to send.
    assert!(matches!(reply, Ok(None)), "agreed: {reply:?}");
    let (tx, _) = closed_on(&pair, 0);
    let fee_sat = FUNDING_SATOSHIS - tx.output.iter().map(|o| o.value.to_sat()).sum::<u64>();
    // The estimate's fee for the signed transaction's own weight, with room for the
    // signatures' length and rounding: a few satoshis, not a balance.
    let weight = tx.weight().to_wu();
    let estimate_fee_sat = u64::from(FEERATE_ESTIMATE_PER_KW) * weight / 1000;
    assert!(
        fee_sat <= estimate_fee_sat + 10,
        "closing fee {fee_sat} sat for {weight} WU at an estimate of {FEERATE_ESTIMATE_PER_KW} sat/kW"
    );
    assert_eq!(fee_sat, proposal.fee_satoshis, "the estimate's fee is what we proposed");
}

/// The range is what the funder is prepared to pay: from the relay floor's fee to the
/// estimate's, never past its balance, and fixed for the negotiation (a new estimate
/// arriving mid-negotiation does not move it under the peer).
#[test]
fn the_funders_range_follows_the_estimate_and_holds_for_the_negotiation() {
    let fee_at = |estimate: u32| {
        let mut pair = shut_down_both_ways();
        let proposal = pair.nodes[0]
            .channel
            .propose_closing_signed(estimate)
            .expect("proposes");
        (proposal.fee_satoshis, proposal.tlvs.fee_range.expect("range"))
    };
    let (floor_fee, floor_range) = fee_at(253);
    let (fee, range) = fee_at(2_500);
    assert_eq!(floor_range.min_fee_satoshis, floor_fee);
    assert_eq!(range.min_fee_satoshis, floor_fee, "the floor stays the minimum");
    assert_eq!(range.max_fee_satoshis, fee);
    assert!(
        fee > 9 * floor_fee && fee < 11 * floor_fee,
        "ten times the feerate, ten times the fee"
    );
    // Below the floor, the floor; far above the balance, the balance (700,000 sat).
    assert_eq!(fee_at(1).0, floor_fee);
    assert_eq!(fee_at(u32::MAX).1.max_fee_satoshis, 700_000);

    let mut pair = shut_down_both_ways();
    let proposal = pair.nodes[0].channel.propose_closing_signed(2_500).expect("proposes");
    // The fundee counters below it; the funder, with a new and lower estimate, still
    // judges the answer against the range it sent.
    let counter = closing_signed_by(1, floor_fee, floor_fee, 700_000);
    let reply = pair.nodes[0].channel.closing_signed(&counter, 253);
    assert!(matches!(reply, Ok(Some(_))), "in the range sent: {reply:?}");
    assert_eq!(proposal.tlvs.fee_range, Some(range));
}

/// With equal dust limits an output at exactly the limit is not below it: the funder
/// keeps the fundee's output, as BOLT 3 has the fundee build it. (Only where the peer's
/// limit is below ours is an output at the peer's limit left out: see above.)
#[test]
fn at_equal_dust_limits_an_output_at_the_limit_is_kept() {
    let limits = lightning::chan::channel::ChannelLimits::default_for(FUNDING_SATOSHIS);
    assert_eq!(limits.dust_limit_satoshis, 546);
    let pushed_msat = 546_000;
    let mut pair = exchange_shutdowns(open_pair_with(pushed_msat, limits, limits));
    let proposal = pair.nodes[0]
        .channel
        .propose_closing_signed(FEERATE_ESTIMATE_PER_KW)
        .expect("funder proposes");
    let fundees_own = built_with_one_dust_limit(pushed_msat, 546, proposal.fee_satoshis);
    assert_eq!(fundees_own.output.len(), 2, "546 sat is not below 546");
    assert!(signs(&pair, &fundees_own, &proposal.signature, 0));
    pair.send(0, Message::ClosingSigned(proposal));
    pair.settle();
    assert_eq!(
        closed_on(&pair, 1).0,
        closed_on(&pair, 0).0,
        "both hold one closing transaction"
    );
}
