//! Properties of commitment transactions over random channels and HTLC sets: value is
//! conserved, every untrimmed HTLC has its output, and two parties, each building the
//! other's commitment from its own view, agree on the txid and accept each other's real
//! signatures.

use lightning::bitcoin::hashes::Hash;
use lightning::bitcoin::secp256k1::{All, Secp256k1};
use lightning::bitcoin::{OutPoint, ScriptBuf, Txid};
use lightning::chan::commitment::commitment_number_obscure_factor;
use lightning::chan::htlc_tx::build_htlc_transaction;
use lightning::chan::script::to_remote_script_pubkey;
use lightning::chan::signing::verify_p2wsh_input;
use lightning::chan::{ChannelPublicKeys, CommitmentHtlc, CommitmentKeys, CommitmentParams, CommitmentTransaction};
use lightning::sign::{
    ChannelSigner, ChannelTransactionParameters, InMemoryChannelSigner, KeysManager, SignerError, SignerOp,
    TestChannelSigner,
};
use lightning::wire::PaymentHash;
use proptest::prelude::*;

/// One side's view of a channel: "holder" is this side.
#[derive(Clone, Debug)]
struct View {
    holder_is_funder: bool,
    holder_msat: u64,
    counterparty_msat: u64,
    /// (offered by holder, amount, cltv, hash)
    htlcs: Vec<(bool, u64, u32, [u8; 32])>,
    holder_dust_limit_satoshis: u64,
    counterparty_dust_limit_satoshis: u64,
    /// Delay on the holder's outputs, chosen by the counterparty.
    holder_to_self_delay: u16,
    counterparty_to_self_delay: u16,
}

impl View {
    /// The same channel seen from the other side.
    fn mirrored(&self) -> View {
        View {
            holder_is_funder: !self.holder_is_funder,
            holder_msat: self.counterparty_msat,
            counterparty_msat: self.holder_msat,
            htlcs: self
                .htlcs
                .iter()
                .map(|(offered, a, c, h)| (!offered, *a, *c, *h))
                .collect(),
            holder_dust_limit_satoshis: self.counterparty_dust_limit_satoshis,
            counterparty_dust_limit_satoshis: self.holder_dust_limit_satoshis,
            holder_to_self_delay: self.counterparty_to_self_delay,
            counterparty_to_self_delay: self.holder_to_self_delay,
        }
    }

    /// The HTLCs as the commitment of `holder` (true) or the counterparty (false) sees them.
    fn commitment_htlcs(&self, holder: bool) -> Vec<CommitmentHtlc> {
        self.htlcs
            .iter()
            .map(|(holder_offered, amount_msat, cltv_expiry, hash)| CommitmentHtlc {
                offered: *holder_offered == holder,
                amount_msat: *amount_msat,
                cltv_expiry: *cltv_expiry,
                payment_hash: PaymentHash(*hash),
            })
            .collect()
    }
}

struct Party {
    signer: InMemoryChannelSigner,
}

const FUNDING_TXID: [u8; 32] = [9; 32];

fn channel_view() -> impl Strategy<Value = (View, u32, u64)> {
    (
        100_000u64..50_000_000,
        any::<bool>(),
        proptest::collection::vec(
            (
                any::<bool>(),
                1_000u64..20_000_000,
                500_000u32..600_000,
                any::<[u8; 32]>(),
            ),
            0..12,
        ),
        354u64..2_000,
        354u64..2_000,
        (144u16..2016, 144u16..2016),
        0u32..20_000,
        0u64..50,
        0.0f64..1.0,
    )
        .prop_filter_map(
            "HTLCs must fit the channel",
            |(funding_sat, holder_is_funder, htlcs, holder_dust, counterparty_dust, delays, feerate, number, split)| {
                let htlc_total: u64 = htlcs.iter().map(|h| h.1).sum();
                let total_msat = funding_sat * 1000;
                let remaining = total_msat.checked_sub(htlc_total)?;
                let holder_msat = (remaining as f64 * split) as u64;
                Some((
                    View {
                        holder_is_funder,
                        holder_msat,
                        counterparty_msat: remaining - holder_msat,
                        htlcs,
                        holder_dust_limit_satoshis: holder_dust,
                        counterparty_dust_limit_satoshis: counterparty_dust,
                        holder_to_self_delay: delays.0,
                        counterparty_to_self_delay: delays.1,
                    },
                    feerate,
                    number,
                ))
            },
        )
}

fn funding_satoshis(view: &View) -> u64 {
    (view.holder_msat + view.counterparty_msat + view.htlcs.iter().map(|h| h.1).sum::<u64>()) / 1000
}

/// Builds the commitment of `broadcaster` (true: the view's holder) from `view`.
#[allow(clippy::too_many_arguments)]
fn build(
    secp: &Secp256k1<All>,
    view: &View,
    broadcaster_holder: bool,
    holder_keys: &ChannelPublicKeys,
    counterparty_keys: &ChannelPublicKeys,
    broadcaster_point: &lightning::bitcoin::secp256k1::PublicKey,
    feerate_per_kw: u32,
    commitment_number: u64,
) -> (CommitmentTransaction, Vec<CommitmentHtlc>, CommitmentKeys) {
    let (broadcaster, countersignatory) = if broadcaster_holder {
        (holder_keys, counterparty_keys)
    } else {
        (counterparty_keys, holder_keys)
    };
    let keys = CommitmentKeys::derive(secp, broadcaster_point, broadcaster, countersignatory).expect("derives");
    let htlcs = view.commitment_htlcs(broadcaster_holder);
    let (opener, accepter) = if view.holder_is_funder {
        (holder_keys, counterparty_keys)
    } else {
        (counterparty_keys, holder_keys)
    };
    let params = CommitmentParams {
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array(FUNDING_TXID),
            vout: 1,
        },
        funding_satoshis: funding_satoshis(view),
        commitment_number,
        obscure_factor: commitment_number_obscure_factor(&opener.payment_basepoint, &accepter.payment_basepoint),
        broadcaster_is_funder: view.holder_is_funder == broadcaster_holder,
        to_broadcaster_msat: if broadcaster_holder {
            view.holder_msat
        } else {
            view.counterparty_msat
        },
        to_countersignatory_msat: if broadcaster_holder {
            view.counterparty_msat
        } else {
            view.holder_msat
        },
        feerate_per_kw,
        dust_limit_satoshis: if broadcaster_holder {
            view.holder_dust_limit_satoshis
        } else {
            view.counterparty_dust_limit_satoshis
        },
        to_self_delay: if broadcaster_holder {
            view.holder_to_self_delay
        } else {
            view.counterparty_to_self_delay
        },
        keys: &keys,
        to_remote_script_pubkey: &to_remote_script_pubkey(&countersignatory.payment_basepoint),
        htlcs: &htlcs,
    };
    (
        CommitmentTransaction::build(&params).expect("value conserved"),
        htlcs,
        keys,
    )
}

fn parties(view: &View) -> (Party, Party) {
    let a = KeysManager::new(&[1; 32], &[0; 32]).derive_channel_signer(&[11; 32]);
    let b = KeysManager::new(&[2; 32], &[0; 32]).derive_channel_signer(&[22; 32]);
    let outpoint = OutPoint {
        txid: Txid::from_byte_array(FUNDING_TXID),
        vout: 1,
    };
    let mut a = Party { signer: a };
    let mut b = Party { signer: b };
    let a_keys = *a.signer.pubkeys();
    let b_keys = *b.signer.pubkeys();
    a.signer.provide_channel_parameters(&ChannelTransactionParameters {
        holder_is_funder: view.holder_is_funder,
        funding_outpoint: outpoint,
        funding_satoshis: funding_satoshis(view),
        counterparty_pubkeys: b_keys,
        holder_to_self_delay: view.holder_to_self_delay,
        counterparty_to_self_delay: view.counterparty_to_self_delay,
    });
    b.signer.provide_channel_parameters(&ChannelTransactionParameters {
        holder_is_funder: !view.holder_is_funder,
        funding_outpoint: outpoint,
        funding_satoshis: funding_satoshis(view),
        counterparty_pubkeys: a_keys,
        holder_to_self_delay: view.counterparty_to_self_delay,
        counterparty_to_self_delay: view.holder_to_self_delay,
    });
    (a, b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn outputs_plus_fee_equal_the_funding_and_untrimmed_htlcs_have_outputs((view, feerate, number) in channel_view()) {
        let secp = Secp256k1::new();
        let (a, b) = parties(&view);
        let point = a.signer.per_commitment_point(number).expect("point");
        let (commitment, htlcs, keys) = build(&secp, &view, true, a.signer.pubkeys(), b.signer.pubkeys(), &point, feerate, number);
        let outputs: u64 = commitment.tx.output.iter().map(|o| o.value.to_sat()).sum();
        prop_assert_eq!(outputs + commitment.fee_satoshis, funding_satoshis(&view));
        let untrimmed: Vec<usize> = (0..htlcs.len()).filter(|i| !htlcs[*i].is_trimmed(view.holder_dust_limit_satoshis, feerate)).collect();
        prop_assert_eq!(commitment.htlc_outputs.len(), untrimmed.len());
        for i in untrimmed {
            let (_, vout) = commitment.htlc_outputs.iter().find(|(h, _)| *h == i).copied().expect("untrimmed HTLC has an output");
            let output = &commitment.tx.output[vout as usize];
            prop_assert_eq!(output.value.to_sat(), htlcs[i].amount_msat / 1000);
            prop_assert_eq!(&output.script_pubkey, &ScriptBuf::new_p2wsh(&htlcs[i].witness_script(&keys).expect("HTLC keys").wscript_hash()));
        }
        // Outputs are in BIP 69 order.
        for pair in commitment.tx.output.windows(2) {
            prop_assert!((pair[0].value, pair[0].script_pubkey.as_bytes()) <= (pair[1].value, pair[1].script_pubkey.as_bytes()));
        }
    }

    #[test]
    fn both_parties_agree_on_each_others_commitments((view, feerate, number) in channel_view()) {
        let (mut a, mut b) = parties(&view);
        let b_view = view.mirrored();
        check_direction(&mut a, &mut b, &view, &b_view, feerate, number)?;
        check_direction(&mut b, &mut a, &b_view, &view, feerate, number)?;
    }
}

/// `signer` builds and signs `validator`'s commitment from its own view; `validator`
/// builds its own and checks the signatures.
fn check_direction(
    signer: &mut Party,
    validator: &mut Party,
    signer_view: &View,
    validator_view: &View,
    feerate: u32,
    number: u64,
) -> Result<(), TestCaseError> {
    let secp = Secp256k1::new();
    let (signer_keys, validator_keys) = (*signer.signer.pubkeys(), *validator.signer.pubkeys());
    // The validator's per-commitment point, as it would have sent it.
    let point = validator.signer.per_commitment_point(number).expect("point");
    let (theirs, htlcs, keys) = build(
        &secp,
        signer_view,
        false,
        &signer_keys,
        &validator_keys,
        &point,
        feerate,
        number,
    );
    let (own, own_htlcs, own_keys) = build(
        &secp,
        validator_view,
        true,
        &validator_keys,
        &signer_keys,
        &point,
        feerate,
        number,
    );
    prop_assert_eq!(theirs.txid(), own.txid());
    prop_assert_eq!(&keys, &own_keys);
    let (sig, htlc_sigs) = signer
        .signer
        .sign_counterparty_commitment(number, &theirs, &htlcs, &keys, feerate)
        .expect("signs");
    prop_assert_eq!(
        validator
            .signer
            .validate_holder_commitment(number, &own, &own_htlcs, &own_keys, feerate, &sig, &htlc_sigs),
        Ok(())
    );
    // The holder signs the second-stage transaction of each of its HTLC outputs with its
    // own HTLC key, over the HTLC's value, as it will to claim them on chain.
    let txid = own.txid();
    for &(htlc_index, vout) in &own.htlc_outputs {
        let htlc = &own_htlcs[htlc_index];
        let delay = validator_view.holder_to_self_delay;
        let htlc_tx = build_htlc_transaction(&txid, vout, htlc, feerate, delay, &own_keys);
        let signature = validator
            .signer
            .sign_holder_htlc_transaction(number, &htlc_tx, htlc, &own_keys)
            .expect("signs");
        let script = htlc.witness_script(&own_keys).expect("HTLC keys");
        let value_sat = htlc.amount_msat / 1000;
        let key = own_keys.htlc.expect("HTLC keys").broadcaster_htlc_key;
        prop_assert!(verify_p2wsh_input(
            &secp, &htlc_tx, 0, &script, value_sat, &signature, &key
        ));
    }
    // One HTLC signature too many, or one too few, is refused (the funding signature
    // alone does not make a commitment whose HTLC outputs the holder could not claim).
    let mut extra = htlc_sigs.clone();
    extra.push(sig);
    prop_assert_eq!(
        validator
            .signer
            .validate_holder_commitment(number, &own, &own_htlcs, &own_keys, feerate, &sig, &extra),
        Err(SignerError::Refused)
    );
    if !htlc_sigs.is_empty() {
        let short = &htlc_sigs[..htlc_sigs.len() - 1];
        prop_assert_eq!(
            validator
                .signer
                .validate_holder_commitment(number, &own, &own_htlcs, &own_keys, feerate, &sig, short),
            Err(SignerError::Refused)
        );
        // A signature from the wrong key is refused.
        let mut wrong = htlc_sigs.clone();
        wrong[0] = sig;
        prop_assert_eq!(
            validator
                .signer
                .validate_holder_commitment(number, &own, &own_htlcs, &own_keys, feerate, &sig, &wrong),
            Err(SignerError::Refused)
        );
    }
    Ok(())
}

/// A channel of 10,000,000 sat with no HTLC, 6,000,000 of it the holder's.
fn plain_view() -> View {
    View {
        holder_is_funder: true,
        holder_msat: 6_000_000_000,
        counterparty_msat: 4_000_000_000,
        htlcs: vec![],
        holder_dust_limit_satoshis: 546,
        counterparty_dust_limit_satoshis: 546,
        holder_to_self_delay: 144,
        counterparty_to_self_delay: 144,
    }
}

/// The revocation discipline, through the test signer: no secret before the next state
/// is validated, no signature on a revoked state, and refusals and delays on command.
#[test]
fn a_revoked_commitment_is_never_signed() {
    let view = plain_view();
    let secp = Secp256k1::new();
    let (a, b) = parties(&view);
    let (a_keys, b_keys) = (*a.signer.pubkeys(), *b.signer.pubkeys());
    let (mut a_signer, control) = TestChannelSigner::new(a.signer);
    let mut b_signer = b.signer;
    let b_view = view.mirrored();

    let mut holder_commitments = Vec::new();
    for number in 0..2 {
        let point = a_signer.per_commitment_point(number).expect("point");
        let (theirs, htlcs, keys) = build(&secp, &b_view, false, &b_keys, &a_keys, &point, 253, number);
        let (sig, htlc_sigs) = b_signer
            .sign_counterparty_commitment(number, &theirs, &htlcs, &keys, 253)
            .expect("signs");
        let (own, own_htlcs, own_keys) = build(&secp, &view, true, &a_keys, &b_keys, &point, 253, number);
        if number == 0 {
            // Commitment 1 is not validated yet: commitment 0 cannot be revoked.
            assert_eq!(
                a_signer.validate_holder_commitment(0, &own, &own_htlcs, &own_keys, 253, &sig, &htlc_sigs),
                Ok(())
            );
            assert_eq!(a_signer.release_commitment_secret(0), Err(SignerError::Refused));
        } else {
            assert_eq!(
                a_signer.validate_holder_commitment(1, &own, &own_htlcs, &own_keys, 253, &sig, &htlc_sigs),
                Ok(())
            );
        }
        holder_commitments.push(own);
    }
    // Out of order is refused; in order works and matches the point handed out.
    assert_eq!(a_signer.release_commitment_secret(1), Err(SignerError::Refused));
    let secret = a_signer
        .release_commitment_secret(0)
        .expect("commitment 1 is validated");
    let secret_key = lightning::bitcoin::secp256k1::SecretKey::from_slice(&secret).expect("valid");
    assert_eq!(
        lightning::bitcoin::secp256k1::PublicKey::from_secret_key(&secp, &secret_key),
        a_signer.per_commitment_point(0).expect("point")
    );
    // Commitment 0 is revoked: signing it is refused and counted.
    assert_eq!(
        a_signer.sign_holder_commitment(0, &holder_commitments[0]),
        Err(SignerError::Refused)
    );
    assert_eq!(control.borrow().revoked_sign_attempts, 1);
    // The in-memory signer underneath refuses on its own too (the wrapper's count reset
    // lets the call through to it).
    control.borrow_mut().revoked_count = 0;
    assert_eq!(
        a_signer.sign_holder_commitment(0, &holder_commitments[0]),
        Err(SignerError::Refused)
    );
    assert!(a_signer.sign_holder_commitment(1, &holder_commitments[1]).is_ok());
    // Operations can be delayed and refused on command.
    control.borrow_mut().unavailable.insert(SignerOp::SignHolderCommitment);
    assert_eq!(
        a_signer.sign_holder_commitment(1, &holder_commitments[1]),
        Err(SignerError::Unavailable)
    );
    control.borrow_mut().unavailable.clear();
    control.borrow_mut().refused.insert(SignerOp::PerCommitmentPoint);
    assert_eq!(a_signer.per_commitment_point(5), Err(SignerError::Refused));
    assert_eq!(control.borrow().revoked_sign_attempts, 1);
}

/// Amounts whose sum overflows never build, not even against a funding value whose
/// msat amount overflows too (both sides of the comparison would be "no value").
#[test]
fn overflowing_amounts_are_refused() {
    let view = plain_view();
    let secp = Secp256k1::new();
    let (a, b) = parties(&view);
    let (a_keys, b_keys) = (*a.signer.pubkeys(), *b.signer.pubkeys());
    let keys = CommitmentKeys::derive(&secp, &a_keys.revocation_basepoint, &a_keys, &b_keys).expect("derives");
    let htlcs = [CommitmentHtlc {
        offered: true,
        amount_msat: u64::MAX / 2,
        cltv_expiry: 500,
        payment_hash: PaymentHash([1; 32]),
    }];
    for (funding_satoshis, to_broadcaster_msat, htlcs) in [
        (u64::MAX, u64::MAX, &[][..]),
        (u64::MAX / 1000 + 1, u64::MAX / 2 + 2, &htlcs[..]),
        (10_000_000, u64::MAX, &[][..]),
    ] {
        let params = CommitmentParams {
            funding_outpoint: OutPoint {
                txid: Txid::from_byte_array(FUNDING_TXID),
                vout: 1,
            },
            funding_satoshis,
            commitment_number: 42,
            obscure_factor: 0,
            broadcaster_is_funder: true,
            to_broadcaster_msat,
            to_countersignatory_msat: 1,
            feerate_per_kw: 253,
            dust_limit_satoshis: 546,
            to_self_delay: 144,
            keys: &keys,
            to_remote_script_pubkey: &to_remote_script_pubkey(&b_keys.payment_basepoint),
            htlcs,
        };
        assert_eq!(
            CommitmentTransaction::build(&params),
            Err(lightning::chan::commitment::CommitmentError::ValueNotConserved),
            "funding {funding_satoshis} sat, to_broadcaster {to_broadcaster_msat} msat"
        );
    }
}

/// Balances one msat off the funding are refused either way; exact ones build, and the
/// commitment number comes back from locktime and sequence by XOR with the obscuring
/// factor, also where the two share bits (BOLT 3).
#[test]
fn balances_must_add_up_and_the_number_is_obscured_by_xor() {
    let view = plain_view();
    let secp = Secp256k1::new();
    let (a, b) = parties(&view);
    let (a_keys, b_keys) = (*a.signer.pubkeys(), *b.signer.pubkeys());
    let keys = CommitmentKeys::derive(&secp, &a_keys.revocation_basepoint, &a_keys, &b_keys).expect("derives");
    let commitment_number = 0x0000_f0f0_f0f0_f0f0;
    let obscure_factor = 0x0000_ffff_0000_ffff;
    let to_b = to_remote_script_pubkey(&b_keys.payment_basepoint);
    let params = |to_broadcaster_msat: u64| CommitmentParams {
        funding_outpoint: OutPoint {
            txid: Txid::from_byte_array(FUNDING_TXID),
            vout: 1,
        },
        funding_satoshis: 10_000_000,
        commitment_number,
        obscure_factor,
        broadcaster_is_funder: true,
        to_broadcaster_msat,
        to_countersignatory_msat: 4_000_000_000,
        feerate_per_kw: 253,
        dust_limit_satoshis: 546,
        to_self_delay: 144,
        keys: &keys,
        to_remote_script_pubkey: &to_b,
        htlcs: &[],
    };
    for off_by_one in [5_999_999_999, 6_000_000_001] {
        assert_eq!(
            CommitmentTransaction::build(&params(off_by_one)),
            Err(lightning::chan::commitment::CommitmentError::ValueNotConserved)
        );
    }
    let tx = CommitmentTransaction::build(&params(6_000_000_000))
        .expect("adds up")
        .tx;
    let low = u64::from(tx.lock_time.to_consensus_u32() & 0xff_ffff);
    let high = u64::from(tx.input[0].sequence.0 & 0xff_ffff);
    assert_eq!(((high << 24) | low) ^ obscure_factor, commitment_number);
}

/// Keys derived without the HTLC keys serve a commitment whose HTLCs are all trimmed (or
/// that has none) exactly as the full keys do; an HTLC output needs them, so the builder
/// and the signer refuse rather than guess.
#[test]
fn keys_without_htlc_keys_serve_only_commitments_without_htlc_outputs() {
    let secp = Secp256k1::new();
    let (mut a, b) = parties(&plain_view());
    let (a_keys, b_keys) = (*a.signer.pubkeys(), *b.signer.pubkeys());
    let point = b.signer.per_commitment_point(3).expect("point");
    let full = CommitmentKeys::derive(&secp, &point, &b_keys, &a_keys).expect("derives");
    let lean = CommitmentKeys::derive_with_revocation_key(&secp, &point, full.revocation_key, &b_keys, &a_keys, false)
        .expect("derives");
    assert_eq!(lean.htlc, None);
    assert_eq!(
        CommitmentKeys {
            htlc: full.htlc,
            ..lean
        },
        full
    );

    let params = |keys: &CommitmentKeys, htlcs: &[CommitmentHtlc], to_broadcaster_msat: u64| {
        CommitmentTransaction::build(&CommitmentParams {
            funding_outpoint: OutPoint {
                txid: Txid::from_byte_array(FUNDING_TXID),
                vout: 1,
            },
            funding_satoshis: 10_000_000,
            commitment_number: 3,
            obscure_factor: 0,
            broadcaster_is_funder: false,
            to_broadcaster_msat,
            to_countersignatory_msat: 4_000_000_000,
            feerate_per_kw: 253,
            dust_limit_satoshis: 546,
            to_self_delay: 144,
            keys,
            to_remote_script_pubkey: &to_remote_script_pubkey(&a_keys.payment_basepoint),
            htlcs,
        })
    };
    let htlc = |amount_msat| CommitmentHtlc {
        offered: true,
        amount_msat,
        cltv_expiry: 500,
        payment_hash: PaymentHash([3; 32]),
    };
    let trimmed = [htlc(500_000)];
    let untrimmed = [htlc(5_000_000)];
    assert_eq!(params(&lean, &[], 6_000_000_000), params(&full, &[], 6_000_000_000));
    let with_trimmed = params(&lean, &trimmed, 5_999_500_000).expect("builds");
    assert_eq!(Ok(&with_trimmed), params(&full, &trimmed, 5_999_500_000).as_ref());
    assert!(with_trimmed.htlc_outputs.is_empty());
    assert_eq!(
        params(&lean, &untrimmed, 5_995_000_000),
        Err(lightning::chan::commitment::CommitmentError::MissingHtlcKeys)
    );

    // The signer, handed the lean keys for a commitment with an HTLC output.
    let with_output = params(&full, &untrimmed, 5_995_000_000).expect("builds");
    assert_eq!(with_output.htlc_outputs.len(), 1);
    assert_eq!(
        a.signer
            .sign_counterparty_commitment(3, &with_output, &untrimmed, &lean, 253),
        Err(SignerError::Refused)
    );
    assert!(a
        .signer
        .sign_counterparty_commitment(3, &with_output, &untrimmed, &full, 253)
        .is_ok());
}
