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
    let mut output: alloc::vec::Vec<TxOut> = [
        (to_funder, params.funder_script),
        (to_fundee, params.fundee_script),
    ]
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
