//! BOLT 3 scripts: the funding output, `to_local`, offered and received HTLC outputs (the
//! static_remotekey channel type, without anchors), and the HTLC transactions' output.

use alloc::vec::Vec;

use bitcoin::hashes::{hash160, ripemd160, sha256, Hash};
use bitcoin::opcodes::all::*;
use bitcoin::script::Builder;
use bitcoin::secp256k1::PublicKey;
use bitcoin::{CompressedPublicKey, ScriptBuf};

use crate::wire::PaymentHash;

/// The longest each script gets: a delay up to `u16::MAX` and an expiry up to `u32::MAX`
/// take their longest script number encodings.
const FUNDING_SCRIPT_MAX_LEN: usize = 71;
const TO_LOCAL_SCRIPT_MAX_LEN: usize = 78;
const OFFERED_HTLC_SCRIPT_MAX_LEN: usize = 133;
const RECEIVED_HTLC_SCRIPT_MAX_LEN: usize = 141;

/// A builder with room for `len` bytes: each script below is built in one allocation
/// (its longest encoding) instead of a growing vector's several.
fn builder_with_capacity(len: usize) -> Builder {
    Builder::from(Vec::with_capacity(len))
}

/// The P2WSH output script paying to `witness_script` (`OP_0 <sha256(script)>`), as
/// `ScriptBuf::new_p2wsh` builds it but in one allocation: a commitment has one per
/// HTLC and `to_local`, and the builder grew its vector twice for each.
pub fn p2wsh_script_pubkey(witness_script: &bitcoin::Script) -> ScriptBuf {
    let hash = witness_script.wscript_hash();
    let builder = builder_with_capacity(2 + 32);
    builder
        .push_opcode(OP_PUSHBYTES_0)
        .push_slice(hash.as_byte_array())
        .into_script()
}

/// `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, keys in lexicographic order of their
/// compressed encodings.
pub fn funding_redeem_script(a: &PublicKey, b: &PublicKey) -> ScriptBuf {
    let (first, second) = if a.serialize() <= b.serialize() { (a, b) } else { (b, a) };
    builder_with_capacity(FUNDING_SCRIPT_MAX_LEN)
        .push_opcode(OP_PUSHNUM_2)
        .push_slice(first.serialize())
        .push_slice(second.serialize())
        .push_opcode(OP_PUSHNUM_2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// The `to_local` script, also the output script of HTLC transactions: the revocation key
/// at once, or the delayed key after `to_self_delay` blocks.
pub fn to_local_script(revocation_key: &PublicKey, to_self_delay: u16, delayed_payment_key: &PublicKey) -> ScriptBuf {
    builder_with_capacity(TO_LOCAL_SCRIPT_MAX_LEN)
        .push_opcode(OP_IF)
        .push_slice(revocation_key.serialize())
        .push_opcode(OP_ELSE)
        .push_int(i64::from(to_self_delay))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_slice(delayed_payment_key.serialize())
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// The P2WPKH `to_remote` output (static_remotekey: the remote payment basepoint).
pub fn to_remote_script_pubkey(payment_point: &PublicKey) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&CompressedPublicKey(*payment_point).wpubkey_hash())
}

fn payment_hash160(payment_hash: &PaymentHash) -> [u8; 20] {
    ripemd160::Hash::hash(&payment_hash.0).to_byte_array()
}

/// What every HTLC output script of one commitment shares, encoded once per commitment
/// instead of once per HTLC: the revocation key's HASH160 and both HTLC keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HtlcScriptKeys {
    revocation_key_hash: [u8; 20],
    local_htlc_key: [u8; 33],
    remote_htlc_key: [u8; 33],
}

impl HtlcScriptKeys {
    /// The shared part of a commitment's HTLC scripts: `local` is the broadcaster's HTLC
    /// key, `remote` the countersignatory's.
    pub fn new(revocation_key: &PublicKey, local_htlc_key: &PublicKey, remote_htlc_key: &PublicKey) -> Self {
        HtlcScriptKeys {
            revocation_key_hash: hash160::Hash::hash(&revocation_key.serialize()).to_byte_array(),
            local_htlc_key: local_htlc_key.serialize(),
            remote_htlc_key: remote_htlc_key.serialize(),
        }
    }
}

/// The script of an HTLC the commitment's owner offered: the remote side takes it with
/// the preimage or the revocation key; the owner only through an HTLC-timeout
/// transaction both sign.
pub fn offered_htlc_script(
    revocation_key: &PublicKey,
    local_htlc_key: &PublicKey,
    remote_htlc_key: &PublicKey,
    payment_hash: &PaymentHash,
) -> ScriptBuf {
    offered_htlc_script_with(
        &HtlcScriptKeys::new(revocation_key, local_htlc_key, remote_htlc_key),
        payment_hash,
    )
}

/// [`offered_htlc_script`] from the commitment's shared [`HtlcScriptKeys`].
pub fn offered_htlc_script_with(keys: &HtlcScriptKeys, payment_hash: &PaymentHash) -> ScriptBuf {
    builder_with_capacity(OFFERED_HTLC_SCRIPT_MAX_LEN)
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(keys.revocation_key_hash)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(keys.remote_htlc_key)
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_DROP)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlc_key)
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160(payment_hash))
        .push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// The script of an HTLC the commitment's owner received: the owner takes it with the
/// preimage through an HTLC-success transaction both sign; the remote side after
/// `cltv_expiry` or with the revocation key.
pub fn received_htlc_script(
    revocation_key: &PublicKey,
    local_htlc_key: &PublicKey,
    remote_htlc_key: &PublicKey,
    payment_hash: &PaymentHash,
    cltv_expiry: u32,
) -> ScriptBuf {
    received_htlc_script_with(
        &HtlcScriptKeys::new(revocation_key, local_htlc_key, remote_htlc_key),
        payment_hash,
        cltv_expiry,
    )
}

/// [`received_htlc_script`] from the commitment's shared [`HtlcScriptKeys`].
pub fn received_htlc_script_with(keys: &HtlcScriptKeys, payment_hash: &PaymentHash, cltv_expiry: u32) -> ScriptBuf {
    builder_with_capacity(RECEIVED_HTLC_SCRIPT_MAX_LEN)
        .push_opcode(OP_DUP)
        .push_opcode(OP_HASH160)
        .push_slice(keys.revocation_key_hash)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE)
        .push_slice(keys.remote_htlc_key)
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_HASH160)
        .push_slice(payment_hash160(payment_hash))
        .push_opcode(OP_EQUALVERIFY)
        .push_int(2)
        .push_opcode(OP_SWAP)
        .push_slice(keys.local_htlc_key)
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_DROP)
        .push_int(i64::from(cltv_expiry))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// SHA-256 of a preimage, as a payment hash.
pub fn payment_hash_of(preimage: &[u8; 32]) -> PaymentHash {
    PaymentHash(sha256::Hash::hash(preimage).to_byte_array())
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    use super::*;

    /// Each script's length at its longest, and the one allocation it is built in.
    #[test]
    fn each_script_is_built_in_one_allocation_that_fits_its_longest_form() {
        let secp = Secp256k1::new();
        let key = |b: u8| PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[b; 32]).unwrap());
        let (a, b, c) = (key(1), key(2), key(3));
        let hash = PaymentHash([7; 32]);
        let cases = [
            (funding_redeem_script(&a, &b), FUNDING_SCRIPT_MAX_LEN, true),
            (to_local_script(&a, u16::MAX, &b), TO_LOCAL_SCRIPT_MAX_LEN, true),
            (to_local_script(&a, 144, &b), TO_LOCAL_SCRIPT_MAX_LEN, false),
            (
                offered_htlc_script(&a, &b, &c, &hash),
                OFFERED_HTLC_SCRIPT_MAX_LEN,
                true,
            ),
            (
                received_htlc_script(&a, &b, &c, &hash, u32::MAX),
                RECEIVED_HTLC_SCRIPT_MAX_LEN,
                true,
            ),
            (
                received_htlc_script(&a, &b, &c, &hash, 500_000),
                RECEIVED_HTLC_SCRIPT_MAX_LEN,
                false,
            ),
        ];
        for (i, (script, max_len, longest)) in cases.into_iter().enumerate() {
            assert_eq!(script.len() == max_len, longest, "case {i}: {} bytes", script.len());
            assert!(script.len() <= max_len, "case {i}");
            assert_eq!(
                script.into_bytes().capacity(),
                max_len,
                "case {i}: built in one allocation"
            );
        }
    }

    /// The one-allocation P2WSH output script is the library's, for scripts of every kind.
    #[test]
    fn p2wsh_output_scripts_are_the_bitcoin_crates() {
        let secp = Secp256k1::new();
        let key = |b: u8| PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[b; 32]).unwrap());
        let (a, b) = (key(1), key(2));
        for script in [
            funding_redeem_script(&a, &b),
            to_local_script(&a, 144, &b),
            ScriptBuf::new(),
        ] {
            let built = p2wsh_script_pubkey(&script);
            assert_eq!(built, ScriptBuf::new_p2wsh(&script.wscript_hash()));
            assert!(built.is_p2wsh());
            assert_eq!(built.into_bytes().capacity(), 34, "built in one allocation");
        }
    }
}
