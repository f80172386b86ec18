//! The legacy closing transaction (BOLT 3, for `closing_signed`): one input spending the
//! funding output, each side's balance to its `shutdown` script, the funder paying the
//! fee, outputs below the signer's dust limit removed, BIP 69 order.

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

/// Everything a closing transaction is built from.
#[derive(Clone, Debug)]
pub struct ClosingParams<'a> {
    /// The funding output.
    pub funding_outpoint: OutPoint,
    /// The funder's final balance, before the fee.
    pub to_funder_msat: u64,
    /// The other side's final balance.
    pub to_fundee_msat: u64,
    /// The funder's `shutdown` script.
    pub funder_script: &'a ScriptBuf,
    /// The fundee's `shutdown` script.
    pub fundee_script: &'a ScriptBuf,
    /// The fee, taken from the funder's output.
    pub fee_satoshis: u64,
    /// The signer's own dust limit: smaller outputs are left out.
    pub dust_limit_satoshis: u64,
}

/// Builds the unsigned closing transaction.
pub fn build_closing_transaction(params: &ClosingParams<'_>) -> Transaction {
    let to_funder = (params.to_funder_msat / 1000).saturating_sub(params.fee_satoshis);
    let to_fundee = params.to_fundee_msat / 1000;
    let mut output: alloc::vec::Vec<TxOut> = [(to_funder, params.funder_script), (to_fundee, params.fundee_script)]
        .into_iter()
        .filter(|(value, _)| *value >= params.dust_limit_satoshis)
        .map(|(value, script)| TxOut {
            value: Amount::from_sat(value),
            script_pubkey: script.clone(),
        })
        .collect();
    output.sort_by(|a, b| {
        a.value
            .cmp(&b.value)
            .then_with(|| a.script_pubkey.as_bytes().cmp(b.script_pubkey.as_bytes()))
    });
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: alloc::vec![TxIn {
            previous_output: params.funding_outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use bitcoin::hashes::Hash;
    use bitcoin::Txid;

    fn params<'a>(funder: &'a ScriptBuf, fundee: &'a ScriptBuf, fee_satoshis: u64, dust: u64) -> ClosingParams<'a> {
        ClosingParams {
            funding_outpoint: OutPoint {
                txid: Txid::from_byte_array([3; 32]),
                vout: 0,
            },
            to_funder_msat: 6_000_500,
            to_fundee_msat: 4_000_999,
            funder_script: funder,
            fundee_script: fundee,
            fee_satoshis,
            dust_limit_satoshis: dust,
        }
    }

    #[test]
    fn the_funder_pays_the_fee_and_outputs_are_sorted() {
        let funder = ScriptBuf::from_bytes(vec![0x00, 0x14, 1]);
        let fundee = ScriptBuf::from_bytes(vec![0x00, 0x14, 2]);
        let tx = build_closing_transaction(&params(&funder, &fundee, 2_500, 546));
        let outputs: Vec<(u64, &ScriptBuf)> = tx.output.iter().map(|o| (o.value.to_sat(), &o.script_pubkey)).collect();
        // 6000 - 2500 = 3500 for the funder, 4000 for the fundee (millisatoshis rounded down).
        assert_eq!(outputs, vec![(3_500, &funder), (4_000, &fundee)]);
        assert_eq!(tx.input[0].sequence, Sequence::MAX);
        assert_eq!(tx.lock_time, LockTime::ZERO);
    }

    #[test]
    fn outputs_below_the_dust_limit_are_removed() {
        let funder = ScriptBuf::from_bytes(vec![1]);
        let fundee = ScriptBuf::from_bytes(vec![2]);
        let tx = build_closing_transaction(&params(&funder, &fundee, 5_500, 546));
        assert_eq!(tx.output.len(), 1);
        assert_eq!(tx.output[0].script_pubkey, fundee);
        // A fee above the funder's balance leaves it nothing, never a wrapped-around amount.
        let tx = build_closing_transaction(&params(&funder, &fundee, 10_000, 0));
        assert_eq!(tx.output[0].value.to_sat(), 0);
    }
}
