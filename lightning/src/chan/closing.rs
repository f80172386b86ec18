//! The legacy closing transaction (BOLT 3, for `closing_signed`): one input spending the
//! funding output, each side's balance to its `shutdown` script, the funder paying the
//! fee, each output below the dust limit that applies to it removed, BIP 69 order.

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
    /// The funder's output is left out below this (BOLT 3: below the signer's dust
    /// limit; see [`crate::chan::channel::close`] for which limit each side applies).
    pub funder_dust_limit_satoshis: u64,
    /// The fundee's output is left out below this.
    pub fundee_dust_limit_satoshis: u64,
    /// An output its owner gave up (BOLT 3 lets a signer eliminate its own), left out
    /// whatever its value.
    pub eliminated: Option<ClosingOutput>,
}

/// One of the closing transaction's two outputs, by whose balance it pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosingOutput {
    /// The funder's balance, less the fee.
    Funder,
    /// The fundee's balance.
    Fundee,
}

/// The smallest output to `script` that Bitcoin Core relays (BOLT 3, "Dust Limits"):
/// P2PKH 546, P2SH 540, P2WPKH 294, P2WSH 330, any other witness program 354; other
/// scripts are never standard outputs, so no amount makes them relay.
pub fn relay_dust_threshold_satoshis(script: &bitcoin::Script) -> u64 {
    if script.is_p2pkh() {
        546
    } else if script.is_p2sh() {
        540
    } else if script.is_p2wpkh() {
        294
    } else if script.is_p2wsh() {
        330
    } else if script.is_witness_program() {
        354
    } else {
        u64::MAX
    }
}

/// Whether the network relays `output`: its value reaches its script's threshold.
pub fn is_relayable(output: &TxOut) -> bool {
    output.value.to_sat() >= relay_dust_threshold_satoshis(&output.script_pubkey)
}

/// Builds the unsigned closing transaction.
pub fn build_closing_transaction(params: &ClosingParams<'_>) -> Transaction {
    let to_funder = (params.to_funder_msat / 1000).saturating_sub(params.fee_satoshis);
    let to_fundee = params.to_fundee_msat / 1000;
    let mut output: alloc::vec::Vec<TxOut> = [
        (ClosingOutput::Funder, to_funder, params.funder_script),
        (ClosingOutput::Fundee, to_fundee, params.fundee_script),
    ]
    .into_iter()
    .filter(|(side, value, _)| {
        let dust_limit_satoshis = match side {
            ClosingOutput::Funder => params.funder_dust_limit_satoshis,
            ClosingOutput::Fundee => params.fundee_dust_limit_satoshis,
        };
        Some(*side) != params.eliminated && *value >= dust_limit_satoshis
    })
    .map(|(_, value, script)| TxOut {
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
            funder_dust_limit_satoshis: dust,
            fundee_dust_limit_satoshis: dust,
            eliminated: None,
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
    fn relay_dust_thresholds_follow_bolt3() {
        use bitcoin::hashes::Hash;
        use bitcoin::{PubkeyHash, ScriptHash, WPubkeyHash, WScriptHash};
        let p2tr = ScriptBuf::from_bytes([vec![0x51, 0x20], vec![7; 32]].concat());
        let cases = [
            (ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array([1; 20])), 546),
            (ScriptBuf::new_p2sh(&ScriptHash::from_byte_array([2; 20])), 540),
            (ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([3; 20])), 294),
            (ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([4; 32])), 330),
            (p2tr, 354),
            (ScriptBuf::new_op_return([5; 4]), u64::MAX),
        ];
        for (script, threshold) in cases {
            assert_eq!(relay_dust_threshold_satoshis(&script), threshold, "{script}");
        }
    }

    #[test]
    fn relayable_outputs_reach_their_scripts_threshold() {
        use bitcoin::hashes::Hash;
        use bitcoin::PubkeyHash;
        let p2pkh = ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array([1; 20]));
        let output = |sat| TxOut {
            value: Amount::from_sat(sat),
            script_pubkey: p2pkh.clone(),
        };
        assert!(is_relayable(&output(546)));
        assert!(!is_relayable(&output(545)));
    }

    #[test]
    fn an_eliminated_output_is_left_out_whatever_its_value() {
        let funder = ScriptBuf::from_bytes(vec![0x00, 0x14, 1]);
        let fundee = ScriptBuf::from_bytes(vec![0x00, 0x14, 2]);
        for (eliminated, kept) in [(ClosingOutput::Funder, &fundee), (ClosingOutput::Fundee, &funder)] {
            let tx = build_closing_transaction(&ClosingParams {
                eliminated: Some(eliminated),
                ..params(&funder, &fundee, 500, 546)
            });
            let scripts: Vec<&ScriptBuf> = tx.output.iter().map(|o| &o.script_pubkey).collect();
            assert_eq!(scripts, vec![kept], "{eliminated:?}");
        }
        // Both to one script: still the named output goes, told by whose balance it is.
        let tx = build_closing_transaction(&ClosingParams {
            eliminated: Some(ClosingOutput::Fundee),
            ..params(&funder, &funder, 500, 546)
        });
        let values: Vec<u64> = tx.output.iter().map(|o| o.value.to_sat()).collect();
        assert_eq!(values, vec![5_500]);
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

    #[test]
    fn each_output_is_held_to_its_own_dust_limit() {
        let funder = ScriptBuf::from_bytes(vec![0x00, 0x14, 1]);
        let fundee = ScriptBuf::from_bytes(vec![0x00, 0x14, 2]);
        // 3,500 sat to the funder, 4,000 to the fundee.
        let kept = |funder_dust, fundee_dust| -> Vec<u64> {
            let tx = build_closing_transaction(&ClosingParams {
                funder_dust_limit_satoshis: funder_dust,
                fundee_dust_limit_satoshis: fundee_dust,
                ..params(&funder, &fundee, 2_500, 0)
            });
            tx.output.iter().map(|o| o.value.to_sat()).collect()
        };
        assert_eq!(kept(3_500, 4_000), vec![3_500, 4_000], "at the limit is not below it");
        assert_eq!(kept(3_501, 354), vec![4_000]);
        assert_eq!(kept(354, 4_001), vec![3_500]);
        assert_eq!(kept(4_001, 4_001), Vec::<u64>::new());
    }
}
