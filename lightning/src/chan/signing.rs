//! Signing and verifying P2WSH inputs with SIGHASH_ALL, as every BOLT 3 transaction of the
//! static_remotekey channel type is signed.

use alloc::vec::Vec;

use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{Message, PublicKey, Secp256k1, SecretKey, Signing, Verification};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, Script, ScriptBuf, Transaction, Witness};

/// The BIP 143 digest of input `input_index`, spending a P2WSH output of `value_sat`
/// with `witness_script`. `None` if the input does not exist.
pub fn p2wsh_sighash(tx: &Transaction, input_index: usize, witness_script: &Script, value_sat: u64) -> Option<Message> {
    let sighash = SighashCache::new(tx)
        .p2wsh_signature_hash(
            input_index,
            witness_script,
            Amount::from_sat(value_sat),
            EcdsaSighashType::All,
        )
        .ok()?;
    Some(Message::from(sighash))
}

/// Signs input `input_index` (deterministic RFC 6979 nonces, as the spec's vectors use).
pub fn sign_p2wsh_input<C: Signing>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value_sat: u64,
    secret: &SecretKey,
) -> Option<Signature> {
    let message = p2wsh_sighash(tx, input_index, witness_script, value_sat)?;
    Some(secp.sign_ecdsa(&message, secret))
}

/// Checks `signature` by `key` on input `input_index`.
pub fn verify_p2wsh_input<C: Verification>(
    secp: &Secp256k1<C>,
    tx: &Transaction,
    input_index: usize,
    witness_script: &Script,
    value_sat: u64,
    signature: &Signature,
    key: &PublicKey,
) -> bool {
    match p2wsh_sighash(tx, input_index, witness_script, value_sat) {
        Some(message) => secp.verify_ecdsa(&message, signature, key).is_ok(),
        None => false,
    }
}

/// A signature as a witness carries it: DER, then the SIGHASH_ALL byte.
pub fn der_with_sighash_all(signature: &Signature) -> Vec<u8> {
    let mut bytes = signature.serialize_der().to_vec();
    bytes.push(EcdsaSighashType::All as u8);
    bytes
}

/// `0 <sig for pubkey1> <sig for pubkey2> <funding script>`, signatures in the order of
/// their keys in the funding script.
pub fn funding_witness(
    sig_a: &Signature,
    key_a: &PublicKey,
    sig_b: &Signature,
    key_b: &PublicKey,
    funding_script: &ScriptBuf,
) -> Witness {
    let (first, second) = if key_a.serialize() <= key_b.serialize() {
        (sig_a, sig_b)
    } else {
        (sig_b, sig_a)
    };
    let mut witness = Witness::new();
    witness.push([]);
    witness.push(der_with_sighash_all(first));
    witness.push(der_with_sighash_all(second));
    witness.push(funding_script.as_bytes());
    witness
}
