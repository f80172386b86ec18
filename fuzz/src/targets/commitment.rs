//! The BOLT 3 commitment builder over arbitrary parameters: it refuses balances that do
//! not add up to the funding value and otherwise never panics, and what it builds
//! conserves value, gives every untrimmed HTLC its own output (and its second-stage
//! transaction), keeps dust out, orders outputs by BIP 69 and encodes the commitment
//! number in the locktime and sequence.
//!
//! Input layout (big-endian; missing bytes read as zero): flags (bit 0 the broadcaster
//! funds, bit 1 amounts unbounded, bit 2 the countersignatory's balance taken as given),
//! funding satoshis (8), to-broadcaster msat (8), to-countersignatory msat (8), feerate
//! per kw (4), dust limit (8), to_self_delay (2), commitment number (8), obscure factor
//! (8), per-commitment point seed (1), then 14 bytes per HTLC: kind (bit 0 offered),
//! amount msat (8), CLTV expiry (4), payment hash byte (1).

use std::sync::OnceLock;

use lightning::bitcoin::secp256k1::{PublicKey, SecretKey};
use lightning::bitcoin::ScriptBuf;
use lightning::bitcoin::{OutPoint, Txid};
use lightning::chan::commitment::{
    ChannelPublicKeys, CommitmentError, CommitmentHtlc, CommitmentKeys, CommitmentParams, CommitmentTransaction,
};
use lightning::chan::htlc_tx::build_htlc_transaction;
use lightning::chan::script::to_remote_script_pubkey;
use lightning::wire::PaymentHash;

use super::secp;

/// The most bitcoin there will ever be, in satoshis: amounts are usually kept below it so
/// the fuzzer spends its time on valid commitments (a flag lifts the bound).
const MAX_SATOSHIS: u64 = 21_000_000 * 100_000_000;
/// Bytes each HTLC takes from the input.
const HTLC_LEN: usize = 14;

/// Reads fixed-size values from the input; past its end everything reads as zero.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = self.0.len().min(N);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.bytes())
    }
    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.bytes())
    }
    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.bytes())
    }
}

/// Both sides' basepoints, fixed.
fn channel_keys() -> &'static [ChannelPublicKeys; 2] {
    static KEYS: OnceLock<[ChannelPublicKeys; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [1u8, 6].map(|first| {
            let point = |i: u8| {
                let secret = SecretKey::from_slice(&[first + i; 32]).expect("a valid key");
                PublicKey::from_secret_key(secp(), &secret)
            };
            ChannelPublicKeys {
                funding_pubkey: point(0),
                revocation_basepoint: point(1),
                payment_basepoint: point(2),
                delayed_payment_basepoint: point(3),
                htlc_basepoint: point(4),
            }
        })
    })
}

/// Builds a commitment from the parameters the input encodes and checks it.
pub fn commitment(data: &[u8]) {
    let mut input = Input(data);
    let flags = input.u8();
    let broadcaster_is_funder = flags & 1 != 0;
    // Unless these flags say otherwise, amounts are bounded and the countersignatory's
    // balance is whatever makes the total add up.
    let unbounded = flags & 2 != 0;
    let raw_balances = flags & 4 != 0;
    let bound = |value: u64, max: u64| if unbounded { value } else { value % (max + 1) };

    let funding_satoshis = bound(input.u64(), MAX_SATOSHIS);
    let funding_msat = funding_satoshis.checked_mul(1000);
    let to_broadcaster_msat = bound(input.u64(), funding_msat.unwrap_or(u64::MAX));
    let raw_to_countersignatory_msat = input.u64();
    let feerate_per_kw = input.u32();
    let dust_limit_satoshis = bound(input.u64(), 1 << 24);
    let to_self_delay = input.u16();
    let commitment_number = input.u64();
    let obscure_factor = input.u64() & 0xffff_ffff_ffff;
    let point_byte = input.u8();

    let mut htlcs = Vec::new();
    let mut htlc_total_msat = Some(0u64);
    for chunk in input.0.chunks(HTLC_LEN) {
        let mut htlc_input = Input(chunk);
        let kind = htlc_input.u8();
        let room = funding_msat
            .zip(htlc_total_msat)
            .and_then(|(f, h)| f.checked_sub(h)?.checked_sub(to_broadcaster_msat))
            .unwrap_or(0);
        let amount_msat = bound(htlc_input.u64(), room);
        let cltv_expiry = htlc_input.u32();
        let hash_byte = htlc_input.u8();
        htlc_total_msat = htlc_total_msat.and_then(|t| t.checked_add(amount_msat));
        htlcs.push(CommitmentHtlc {
            offered: kind & 1 != 0,
            amount_msat,
            cltv_expiry,
            payment_hash: PaymentHash([hash_byte; 32]),
        });
    }
    let to_countersignatory_msat = if raw_balances {
        raw_to_countersignatory_msat
    } else {
        funding_msat
            .zip(htlc_total_msat)
            .and_then(|(f, h)| f.checked_sub(h)?.checked_sub(to_broadcaster_msat))
            .unwrap_or(raw_to_countersignatory_msat)
    };

    let point_secret = SecretKey::from_slice(&[point_byte.clamp(1, 0xfe); 32]).expect("below the curve order");
    let per_commitment_point = PublicKey::from_secret_key(secp(), &point_secret);
    let [broadcaster, countersignatory] = channel_keys();
    let Ok(keys) = CommitmentKeys::derive(secp(), &per_commitment_point, broadcaster, countersignatory) else {
        return;
    };
    let params = CommitmentParams {
        funding_outpoint: OutPoint {
            txid: Txid::from_raw_hash(lightning::bitcoin::hashes::Hash::from_byte_array([7; 32])),
            vout: 1,
        },
        funding_satoshis,
        commitment_number,
        obscure_factor,
        broadcaster_is_funder,
        to_broadcaster_msat,
        to_countersignatory_msat,
        feerate_per_kw,
        dust_limit_satoshis,
        to_self_delay,
        keys: &keys,
        to_remote_script_pubkey: &to_remote_script_pubkey(&countersignatory.payment_basepoint),
        htlcs: &htlcs,
    };

    let total_msat = htlc_total_msat
        .and_then(|h| h.checked_add(to_broadcaster_msat))
        .and_then(|t| t.checked_add(to_countersignatory_msat));
    let built = CommitmentTransaction::build(&params);
    if total_msat.is_none() || total_msat != funding_msat {
        assert_eq!(built, Err(CommitmentError::ValueNotConserved));
        return;
    }
    let built = built.expect("balances that add up build");
    assert_eq!(
        CommitmentTransaction::build(&params).as_ref(),
        Ok(&built),
        "not deterministic"
    );
    check_commitment(&params, &built);
}

fn check_commitment(params: &CommitmentParams<'_>, built: &CommitmentTransaction) {
    let tx = &built.tx;
    let outputs_sat: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
    assert_eq!(
        outputs_sat + built.fee_satoshis,
        params.funding_satoshis,
        "value not conserved"
    );
    assert_eq!(tx.input.len(), 1);
    assert_eq!(tx.input[0].previous_output, params.funding_outpoint);

    // Every HTLC the dust rules keep has exactly its own output; trimmed ones have none.
    let untrimmed: Vec<usize> = (0..params.htlcs.len())
        .filter(|&i| !params.htlcs[i].is_trimmed(params.dust_limit_satoshis, params.feerate_per_kw))
        .collect();
    let mut listed: Vec<usize> = built.htlc_outputs.iter().map(|(i, _)| *i).collect();
    listed.sort_unstable();
    assert_eq!(listed, untrimmed, "HTLC outputs");
    let commitment_txid = built.txid();
    for &(index, vout) in &built.htlc_outputs {
        let htlc = &params.htlcs[index];
        let output = &tx.output[vout as usize];
        assert_eq!(output.value.to_sat(), htlc.amount_msat / 1000);
        let script = htlc.witness_script(params.keys).expect("derive makes the HTLC keys");
        assert_eq!(output.script_pubkey, ScriptBuf::new_p2wsh(&script.wscript_hash()));
        // Its second stage spends it, pays less than it holds, and stays above dust.
        let second = build_htlc_transaction(
            &commitment_txid,
            vout,
            htlc,
            params.feerate_per_kw,
            params.to_self_delay,
            params.keys,
        );
        assert_eq!(second.input[0].previous_output.vout, vout);
        assert!(second.output[0].value <= output.value);
        assert!(second.output[0].value.to_sat() >= params.dust_limit_satoshis);
    }
    for output in &tx.output {
        assert!(output.value.to_sat() >= params.dust_limit_satoshis, "a dust output");
    }
    assert!(
        tx.output
            .windows(2)
            .all(|w| (w[0].value, w[0].script_pubkey.as_bytes()) <= (w[1].value, w[1].script_pubkey.as_bytes())),
        "outputs out of BIP 69 order"
    );
    // The obscured commitment number: lower 24 bits in the locktime, upper in the sequence.
    let lock_time = tx.lock_time.to_consensus_u32();
    let sequence = tx.input[0].sequence.0;
    assert_eq!(lock_time >> 24, 0x20);
    assert_eq!(sequence >> 24, 0x80);
    let obscured = u64::from(lock_time & 0xff_ffff) | (u64::from(sequence & 0xff_ffff) << 24);
    assert_eq!(
        obscured ^ params.obscure_factor,
        params.commitment_number & 0xffff_ffff_ffff
    );
}
