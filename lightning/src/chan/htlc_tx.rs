//! Second-stage HTLC transactions (BOLT 3): HTLC-timeout for HTLCs the broadcaster offered,
//! HTLC-success for HTLCs it received, both paying to the delayed `to_local` script.

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};

use super::commitment::{htlc_success_fee, htlc_timeout_fee, CommitmentHtlc, CommitmentKeys};
use super::script::{p2wsh_script_pubkey, to_local_script};
use super::signing::der_with_sighash_all;
use crate::wire::PaymentPreimage;

/// Builds the unsigned HTLC-timeout (offered) or HTLC-success (received) transaction
/// spending `output_index` of the commitment `commitment_txid`.
pub fn build_htlc_transaction(
    commitment_txid: &Txid,
    output_index: u32,
    htlc: &CommitmentHtlc,
    feerate_per_kw: u32,
    to_self_delay: u16,
    keys: &CommitmentKeys,
) -> Transaction {
    let (fee, lock_time) = if htlc.offered {
        (
            htlc_timeout_fee(feerate_per_kw),
            LockTime::from_consensus(htlc.cltv_expiry),
        )
    } else {
        (htlc_success_fee(feerate_per_kw), LockTime::ZERO)
    };
    // Untrimmed HTLCs always cover their fee; saturate rather than underflow otherwise.
    let value = (htlc.amount_msat / 1000).saturating_sub(fee);
    let script = to_local_script(
        &keys.revocation_key,
        to_self_delay,
        &keys.broadcaster_delayed_payment_key,
    );
    Transaction {
        version: Version::TWO,
        lock_time,
        input: alloc::vec![TxIn {
            previous_output: OutPoint {
                txid: *commitment_txid,
                vout: output_index
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence(0),
            witness: Witness::new(),
        }],
        output: alloc::vec![TxOut {
            value: Amount::from_sat(value),
            script_pubkey: p2wsh_script_pubkey(&script)
        }],
    }
}

/// `0 <remotehtlcsig> <localhtlcsig> <payment_preimage> <script>` (HTLC-success).
pub fn htlc_success_witness(
    remote_sig: &Signature,
    local_sig: &Signature,
    preimage: &PaymentPreimage,
    witness_script: &ScriptBuf,
) -> Witness {
    let mut witness = Witness::new();
    witness.push([]);
    witness.push(der_with_sighash_all(remote_sig));
    witness.push(der_with_sighash_all(local_sig));
    witness.push(preimage.0);
    witness.push(witness_script.as_bytes());
    witness
}

/// `0 <remotehtlcsig> <localhtlcsig> <> <script>` (HTLC-timeout).
pub fn htlc_timeout_witness(remote_sig: &Signature, local_sig: &Signature, witness_script: &ScriptBuf) -> Witness {
    let mut witness = Witness::new();
    witness.push([]);
    witness.push(der_with_sighash_all(remote_sig));
    witness.push(der_with_sighash_all(local_sig));
    witness.push([]);
    witness.push(witness_script.as_bytes());
    witness
}
