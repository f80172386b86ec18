//! The test wallet: funding transactions built as `FundingGenerationReady` asks, so that
//! what confirms is a real transaction whose funding output a fundee can check.

use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::{
    absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
};
use lightning::events::Event;
use lightning::wire::ChannelId;

use crate::node::Node;

/// A funding transaction paying `funding_satoshis` to `output_script` at output 0. It
/// spends the wallet's coin `coin` (a txid outside any simulated chain): distinct coins
/// give distinct transactions, so each channel's funding txid is its own.
pub fn funding_transaction(coin: [u8; 32], funding_satoshis: u64, output_script: ScriptBuf) -> Transaction {
    Transaction {
        version: transaction::Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_byte_array(coin),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(funding_satoshis),
            script_pubkey: output_script,
        }],
    }
}

/// The funding output of a transaction from [`funding_transaction`].
pub fn funding_outpoint(tx: &Transaction) -> OutPoint {
    OutPoint {
        txid: tx.compute_txid(),
        vout: 0,
    }
}

/// Answers `event`, if it is `FundingGenerationReady`, as the user's wallet does: builds
/// the funding transaction from coin `coin` and hands its outpoint to `node`'s manager.
/// The channel's id and the transaction, if the manager took it.
pub fn fund_channel(node: &mut Node, event: &Event, coin: [u8; 32]) -> Option<(ChannelId, Transaction)> {
    fund_channel_with(node, event, |funding_satoshis, output_script| {
        (funding_transaction(coin, funding_satoshis, output_script), 0)
    })
}

/// [`fund_channel`] with the wallet's transaction, and the index of the output it names
/// as the funding, made by `build` from the value and script the event asks for: a
/// wallet that may get them wrong.
pub fn fund_channel_with(
    node: &mut Node,
    event: &Event,
    build: impl FnOnce(u64, ScriptBuf) -> (Transaction, u32),
) -> Option<(ChannelId, Transaction)> {
    let Event::FundingGenerationReady {
        temporary_channel_id,
        funding_satoshis,
        output_script,
        ..
    } = event
    else {
        return None;
    };
    let (tx, vout) = build(*funding_satoshis, output_script.clone());
    let outpoint = OutPoint {
        txid: tx.compute_txid(),
        vout,
    };
    let channel_id = node
        .channel_handler_mut()
        .funding_transaction_generated(temporary_channel_id, outpoint)
        .ok()?;
    Some((channel_id, tx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_funding_transaction_pays_what_was_asked_and_differs_per_coin() {
        let script = ScriptBuf::from_bytes(vec![0x00, 0x20, 7]);
        let tx = funding_transaction([1; 32], 5_000, script.clone());
        let outpoint = funding_outpoint(&tx);
        assert_eq!(outpoint.txid, tx.compute_txid());
        let output = &tx.output[outpoint.vout as usize];
        assert_eq!((output.value.to_sat(), &output.script_pubkey), (5_000, &script));
        let other = funding_transaction([2; 32], 5_000, script);
        assert_ne!(funding_outpoint(&other).txid, outpoint.txid);
    }
}
