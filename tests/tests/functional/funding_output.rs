//! The funding output a confirmation shows (BOLT 2, `channel_ready`): neither side uses a
//! channel whose funding outpoint does not pay exactly `funding_satoshis` to the 2-of-2
//! script of BOLT 3, whatever txid the funder named.

use lightning::bitcoin::{Amount, ScriptBuf, Transaction, TxOut};
use lightning::chan::channel::ChannelPhase;
use lightning::chan::manager::ChannelManagerConfig;
use lightning::events::Event;
use lightning::wire::ChannelId;
use sim::wallet::{fund_channel_with, funding_transaction};
use tests::node_pair::*;

use super::node_e2e::{both_see, LINK};

const FUNDING_SATOSHIS: u64 = 1_000_000;

/// Nodes 1 and 2 with a channel from 1 to 2 whose funding, as 1's wallet built it, is
/// output `vout` of the transaction `build` returns from the amount and script asked.
fn funded_by(build: impl FnOnce(u64, ScriptBuf) -> Transaction, vout: u32) -> (Node, Node, ChannelId, Transaction) {
    let recording = |seed| {
        node_with_config(
            [seed; 32],
            [seed; 32],
            ChannelManagerConfig::new(regtest(), sim::node::REGTEST_FEERATE_PER_KW),
            true,
        )
    };
    let (mut a, mut b) = (recording(1), recording(2));
    connect(&mut a, &mut b, LINK);
    let b_id = b.node_id();
    a.channel_handler_mut()
        .open_channel(b_id, FUNDING_SATOSHIS, 0)
        .expect("peer connected");
    pump(&mut a, &mut b, LINK);
    let ready = events(&mut a);
    assert!(
        matches!(ready.as_slice(), [Event::FundingGenerationReady { .. }]),
        "{ready:?}"
    );
    let (channel_id, tx) =
        fund_channel_with(&mut a, &ready[0], |satoshis, script| (build(satoshis, script), vout)).expect("funded");
    pump(&mut a, &mut b, LINK);
    assert_eq!(events(&mut a), vec![Event::FundingSigned { channel_id }]);
    a.take_message_log();
    b.take_message_log();
    (a, b, channel_id, tx)
}

/// An output paying `value_satoshis` to `script`.
fn output(value_satoshis: u64, script: ScriptBuf) -> TxOut {
    TxOut {
        value: Amount::from_sat(value_satoshis),
        script_pubkey: script,
    }
}

/// The funding confirms deep enough: each side finds its output wrong and fails the
/// channel without a `channel_ready`, tells the peer with `error`, and broadcasts
/// nothing (a commitment cannot spend an output it was not signed for).
fn assert_both_refuse(build: impl FnOnce(u64, ScriptBuf) -> Transaction, vout: u32) {
    let (mut a, mut b, channel_id, funding) = funded_by(build, vout);
    both_see(&mut a, &mut b, &funding, 101, 103);
    pump(&mut a, &mut b, LINK);
    for n in [&mut a, &mut b] {
        assert!(n.channel_handler().channel(&channel_id).is_none(), "still open");
        let closed = events(n);
        assert!(
            matches!(
                closed.as_slice(),
                [Event::ChannelClosed { channel_id: id, reason }]
                    if *id == channel_id && reason.contains("funding output")
            ),
            "{closed:?}"
        );
        assert!(n.channel_handler().broadcaster().transactions.is_empty());
        let sent: Vec<&str> = n.take_message_log().iter().filter(|r| r.sent).map(|r| r.name).collect();
        assert_eq!(sent, ["Error"]);
    }
}

#[test]
fn a_funding_output_paying_less_than_the_channel_is_refused() {
    assert_both_refuse(|satoshis, script| funding_transaction([3; 32], satoshis - 1, script), 0);
}

#[test]
fn a_funding_output_paying_more_than_the_channel_is_refused() {
    assert_both_refuse(|satoshis, script| funding_transaction([3; 32], satoshis + 1, script), 0);
}

#[test]
fn a_funding_output_to_another_script_is_refused() {
    let other = ScriptBuf::new_p2wsh(&ScriptBuf::from_bytes(vec![0x51]).wscript_hash());
    assert_both_refuse(move |satoshis, _| funding_transaction([3; 32], satoshis, other), 0);
}

#[test]
fn a_funding_outpoint_past_the_transactions_outputs_is_refused() {
    assert_both_refuse(|satoshis, script| funding_transaction([3; 32], satoshis, script), 1);
}

/// The right output at an index other than 0 (a wallet's change first) opens the
/// channel as any other.
#[test]
fn the_exact_funding_output_at_any_index_opens_the_channel() {
    let build = |satoshis, script| {
        let mut tx = funding_transaction([3; 32], satoshis, script);
        tx.output.insert(
            0,
            output(50_000, ScriptBuf::new_p2wsh(&ScriptBuf::new().wscript_hash())),
        );
        tx
    };
    let (mut a, mut b, channel_id, funding) = funded_by(build, 1);
    both_see(&mut a, &mut b, &funding, 101, 103);
    pump(&mut a, &mut b, LINK);
    for n in [&a, &b] {
        let phase = n.channel_handler().channel(&channel_id).map(|c| c.phase());
        assert_eq!(phase, Some(ChannelPhase::Normal));
    }
}

/// The channel's own check: the right transaction passes; another one (even with the
/// same outputs) and any check before the funding outpoint is known fail the channel.
#[test]
fn a_channel_checks_the_transaction_its_outpoint_names() {
    use lightning::chan::channel::ChannelError;
    use sim::wallet::funding_outpoint;
    use tests::channel_pair::{chain, committed_upfront, open_params, signer_for, Chan};

    let params = open_params(FUNDING_SATOSHIS, 0, 1000);
    let (mut funder, open) = Chan::new_outbound(signer_for(0), &params).expect("open");
    let limits = lightning::chan::channel::ChannelLimits::default_for(FUNDING_SATOSHIS);
    let (_, accept) =
        Chan::new_inbound(signer_for(1), chain(), limits, 3, &committed_upfront(1), &open).expect("accepted");
    funder.accept_channel(&accept).expect("accepted");
    let script = funder.funding_script_pubkey().expect("both keys known");
    let tx = funding_transaction([3; 32], FUNDING_SATOSHIS, script.clone());
    assert!(matches!(funder.check_funding_output(&tx), Err(ChannelError::Close(_))));
    funder
        .funding_transaction_generated(funding_outpoint(&tx))
        .expect("funding_created");
    assert_eq!(funder.check_funding_output(&tx), Ok(()));
    let same_outputs = funding_transaction([4; 32], FUNDING_SATOSHIS, script);
    assert!(matches!(
        funder.check_funding_output(&same_outputs),
        Err(ChannelError::Close(why)) if why.mentions("another transaction")
    ));
}
