//! BOLT 3 test vectors, one named test per vector: Appendix B (funding), C (every
//! commitment and HTLC transaction, byte for byte, with signatures), D (secret generation
//! and storage) and E (key derivation).
//!
//! The vectors are read from `vectors/bolt3_appendices.txt`, a copy of the appendices of
//! the Lightning specification (lightning/bolts, CC-BY 4.0; see the file's header).

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::str::FromStr;

use bitcoin::consensus::encode::serialize;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, SecretKey};
use bitcoin::{OutPoint, Txid};

use super::commitment::*;
use super::htlc_tx::*;
use super::keys::*;
use super::script::*;
use super::secrets::*;
use super::signing::*;
use crate::wire::{PaymentHash, PaymentPreimage};

const VECTORS: &str = include_str!("vectors/bolt3_appendices.txt");

fn hex(s: &str) -> Vec<u8> {
    let s = s.trim().trim_start_matches("0x");
    assert!(s.len() % 2 == 0, "odd hex: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| alloc::format!("{b:02x}")).collect()
}

fn secret(s: &str) -> SecretKey {
    // Appendix C writes private keys with Bitcoin's trailing "compressed" 01 byte.
    let bytes = hex(s);
    SecretKey::from_slice(&bytes[..32]).expect("vector secret")
}

fn point(s: &str) -> PublicKey {
    PublicKey::from_slice(&hex(s)).expect("vector point")
}

fn key32(s: &str) -> [u8; 32] {
    hex(s).try_into().expect("32 bytes")
}

/// One named vector: its lines as `(key, value)`, comments included (with the `#`
/// dropped), in order.
struct Case {
    name: String,
    fields: Vec<(String, String)>,
}

impl Case {
    fn try_get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn get(&self, key: &str) -> &str {
        self.try_get(key)
            .unwrap_or_else(|| panic!("{}: no field {key}", self.name))
    }

    fn all(&self, key_prefix: &str) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .filter(|(k, _)| k.starts_with(key_prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// The named cases of the appendix whose heading starts with `appendix`.
fn cases(appendix: &str) -> Vec<Case> {
    let start = VECTORS.find(&alloc::format!("# {appendix}")).expect("appendix");
    let section = &VECTORS[start + 2..];
    let section = &section[..section.find("\n# Appendix").unwrap_or(section.len())];
    let mut cases: Vec<Case> = Vec::new();
    for line in section.lines() {
        let line = line.trim().trim_start_matches('#').trim();
        let Some(split) = line.find([':', '=']) else {
            continue;
        };
        let (key, value) = (line[..split].trim(), line[split + 1..].trim());
        if key == "name" {
            cases.push(Case {
                name: value.to_string(),
                fields: Vec::new(),
            });
        } else if let Some(case) = cases.last_mut() {
            case.fields.push((key.to_string(), value.to_string()));
        }
    }
    cases
}

// ---- Appendix E ----

const BASE_SECRET: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const PER_COMMITMENT_SECRET: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

fn appendix_e(name: &str, key: &str) -> String {
    let case = cases("Appendix E").into_iter().find(|c| c.name == name).expect("case");
    case.get(key).trim_start_matches("0x").to_string()
}

#[test]
fn bolt3_key_derivation_pubkey() {
    let secp = Secp256k1::new();
    let base_point = PublicKey::from_secret_key(&secp, &secret(BASE_SECRET));
    let per_commitment_point = PublicKey::from_secret_key(&secp, &secret(PER_COMMITMENT_SECRET));
    assert_eq!(
        base_point,
        point("036d6caac248af96f6afa7f904f550253a0f3ef3f5aa2fe6838a95b216691468e2")
    );
    assert_eq!(
        per_commitment_point,
        point("025f7117a78150fe2ef97db7cfc83bd57b2e2c0d0dd25eaf467a4a1c2a45ce1486")
    );
    let derived = derive_public_key(&secp, &per_commitment_point, &base_point);
    assert_eq!(
        derived.map(|k| to_hex(&k.serialize())),
        Ok(appendix_e(
            "derivation of pubkey from basepoint and per_commitment_point",
            "localpubkey"
        ))
    );
}

#[test]
fn bolt3_key_derivation_private_key() {
    let secp = Secp256k1::new();
    let per_commitment_point = PublicKey::from_secret_key(&secp, &secret(PER_COMMITMENT_SECRET));
    let derived = derive_private_key(&secp, &per_commitment_point, &secret(BASE_SECRET));
    assert_eq!(
        derived.map(|k| to_hex(&k.secret_bytes())),
        Ok(appendix_e(
            "derivation of private key from basepoint secret and per_commitment_secret",
            "localprivkey"
        ))
    );
}

#[test]
fn bolt3_key_derivation_revocation_pubkey() {
    let secp = Secp256k1::new();
    let base_point = PublicKey::from_secret_key(&secp, &secret(BASE_SECRET));
    let per_commitment_point = PublicKey::from_secret_key(&secp, &secret(PER_COMMITMENT_SECRET));
    let derived = derive_revocation_public_key(&secp, &per_commitment_point, &base_point);
    assert_eq!(
        derived.map(|k| to_hex(&k.serialize())),
        Ok(appendix_e(
            "derivation of revocation pubkey from basepoint and per_commitment_point",
            "revocationpubkey"
        ))
    );
}

/// The same vector through the derivation a signer makes with the secret of one of the
/// two points (either one).
#[test]
fn bolt3_key_derivation_revocation_pubkey_with_either_secret() {
    let secp = Secp256k1::new();
    let base_point = PublicKey::from_secret_key(&secp, &secret(BASE_SECRET));
    let per_commitment_point = PublicKey::from_secret_key(&secp, &secret(PER_COMMITMENT_SECRET));
    let expected = appendix_e(
        "derivation of revocation pubkey from basepoint and per_commitment_point",
        "revocationpubkey",
    );
    for known in [
        KnownRevocationSecret::RevocationBasepoint(&secret(BASE_SECRET)),
        KnownRevocationSecret::PerCommitment(&secret(PER_COMMITMENT_SECRET)),
    ] {
        let derived = derive_revocation_public_key_with_secret(&secp, &per_commitment_point, &base_point, known);
        assert_eq!(derived.map(|k| to_hex(&k.serialize())), Ok(expected.clone()));
    }
}

#[test]
fn bolt3_key_derivation_revocation_private_key() {
    let secp = Secp256k1::new();
    let derived = derive_revocation_private_key(&secp, &secret(PER_COMMITMENT_SECRET), &secret(BASE_SECRET));
    let expected = appendix_e(
        "derivation of revocation secret from basepoint_secret and per_commitment_secret",
        "revocationprivkey",
    );
    assert_eq!(derived.map(|k| to_hex(&k.secret_bytes())), Ok(expected.clone()));
    // And it is the private key of the revocation pubkey.
    let base_point = PublicKey::from_secret_key(&secp, &secret(BASE_SECRET));
    let per_commitment_point = PublicKey::from_secret_key(&secp, &secret(PER_COMMITMENT_SECRET));
    let public = derive_revocation_public_key(&secp, &per_commitment_point, &base_point).expect("derives");
    assert_eq!(PublicKey::from_secret_key(&secp, &secret(&expected)), public);
}

// ---- Appendix D ----

#[test]
fn bolt3_secret_generation() {
    let generation = cases("Appendix D")
        .into_iter()
        .filter(|c| c.name.starts_with("generate_from_seed"));
    let mut count = 0;
    for case in generation {
        let index_text = case.get("I");
        let index = match index_text.strip_prefix("0x") {
            Some(hex_index) => u64::from_str_radix(hex_index, 16).expect("index"),
            None => index_text.parse().expect("index"),
        };
        let generated = build_commitment_secret(&key32(case.get("seed")), index);
        assert_eq!(
            CommitmentSecretGenerator::new(key32(case.get("seed"))).secret(index),
            generated,
            "{}",
            case.name
        );
        assert_eq!(
            to_hex(&generated),
            case.get("output").trim_start_matches("0x"),
            "{}",
            case.name
        );
        count += 1;
    }
    assert_eq!(count, 5);
}

#[test]
fn bolt3_secret_storage() {
    let storage = cases("Appendix D")
        .into_iter()
        .filter(|c| c.name.starts_with("insert_secret"));
    let mut count = 0;
    for case in storage {
        let mut secrets = CounterpartyCommitmentSecrets::new();
        let indices = case.all("I");
        let values = case.all("secret");
        let outputs = case.all("output");
        assert_eq!(indices.len(), values.len());
        assert_eq!(indices.len(), outputs.len());
        for ((index, value), (_, output)) in indices.iter().zip(&values).zip(&outputs) {
            let index: u64 = index.1.parse().expect("index");
            let result = secrets.insert(index, key32(value.1));
            match *output {
                "OK" => {
                    assert_eq!(result, Ok(()), "{}: {index}", case.name);
                    assert_eq!(secrets.get(index), Some(key32(value.1)));
                }
                "ERROR" => assert_eq!(result, Err(SecretStorageError::Inconsistent { index }), "{}", case.name),
                other => panic!("unexpected output {other}"),
            }
        }
        count += 1;
    }
    assert_eq!(count, 9);
}

#[test]
fn bolt3_secret_storage_derives_every_earlier_secret() {
    let seed = [0xff; 32];
    let mut secrets = CounterpartyCommitmentSecrets::new();
    for n in 0..300u64 {
        let index = INITIAL_COMMITMENT_NUMBER - n;
        assert_eq!(secrets.insert(index, build_commitment_secret(&seed, index)), Ok(()));
    }
    for n in 0..300u64 {
        let index = INITIAL_COMMITMENT_NUMBER - n;
        assert_eq!(
            secrets.get(index),
            Some(build_commitment_secret(&seed, index)),
            "{index}"
        );
    }
    assert_eq!(secrets.get(INITIAL_COMMITMENT_NUMBER - 300), None);
    let skipped = INITIAL_COMMITMENT_NUMBER - 301;
    assert_eq!(
        secrets.insert(skipped, build_commitment_secret(&seed, skipped)),
        Err(SecretStorageError::OutOfOrder {
            expected: skipped + 1,
            given: skipped
        })
    );
}

// ---- Appendix B ----

#[test]
fn bolt3_funding_transaction() {
    use bitcoin::absolute::LockTime;
    use bitcoin::sighash::{EcdsaSighashType, SighashCache};
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

    let secp = Secp256k1::new();
    let local_funding = point("023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb");
    let remote_funding = point("030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1");
    let script = funding_redeem_script(&local_funding, &remote_funding);
    assert_eq!(
        to_hex(script.as_bytes()),
        "5221023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb21030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c152ae"
    );
    // The same script whichever key comes first.
    assert_eq!(funding_redeem_script(&remote_funding, &local_funding), script);

    // Spend the block 1 coinbase (P2PKH) into the funding output and a change output.
    let coinbase_key = secret("6bd078650fcee8444e4e09825227b801a1ca928debb750eb36e6d56124bb20e801");
    let coinbase_pubkey = bitcoin::CompressedPublicKey(PublicKey::from_secret_key(&secp, &coinbase_key));
    let coinbase_script = ScriptBuf::new_p2pkh(&coinbase_pubkey.pubkey_hash());
    let change_script = ScriptBuf::new_p2wpkh(&coinbase_pubkey.wpubkey_hash());
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: alloc::vec![TxIn {
            previous_output: OutPoint {
                txid: Txid::from_str("fd2105607605d2302994ffea703b09f66b6351816ee737a93e42a841ea20bbad").expect("txid"),
                vout: 0,
            },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: alloc::vec![
            TxOut {
                value: Amount::from_sat(10_000_000),
                script_pubkey: ScriptBuf::new_p2wsh(&script.wscript_hash())
            },
            TxOut {
                value: Amount::from_sat(4_989_986_080),
                script_pubkey: change_script
            },
        ],
    };
    let sighash = SighashCache::new(&tx)
        .legacy_signature_hash(0, &coinbase_script, EcdsaSighashType::All.to_u32())
        .expect("input 0");
    let signature = secp.sign_ecdsa(&bitcoin::secp256k1::Message::from(sighash), &coinbase_key);
    let mut signature_bytes = signature.serialize_der().to_vec();
    signature_bytes.push(EcdsaSighashType::All as u8);
    let sig_push = bitcoin::script::PushBytesBuf::try_from(signature_bytes).expect("short");
    tx.input[0].script_sig = bitcoin::script::Builder::new()
        .push_slice(sig_push)
        .push_slice(coinbase_pubkey.to_bytes())
        .into_script();
    let expected = "0200000001adbb20ea41a8423ea937e76e8151636bf6093b70eaff942930d20576600521fd000000006b48304502210090587b6201e166ad6af0227d3036a9454223d49a1f11839c1a362184340ef0240220577f7cd5cca78719405cbf1de7414ac027f0239ef6e214c90fcaab0454d84b3b012103535b32d5eb0a6ed0982a0479bbadc9868d9836f6ba94dd5a63be16d875069184ffffffff028096980000000000220020c015c4a6be010e21657068fc2e6a9d02b27ebe4d490a25846f7237f104d1a3cd20256d29010000001600143ca33c2e4446f4a305f23c80df8ad1afdcf652f900000000";
    assert!(VECTORS.contains(expected), "the expected transaction is the appendix's");
    assert_eq!(to_hex(&serialize(&tx)), expected);
    assert_eq!(
        tx.compute_txid().to_string(),
        "8984484a580b825b9972d7adb15050b3ab624ccd731946b3eeddb92f4e7ef6be"
    );
}

// ---- Appendix C ----

struct AppendixC {
    secp: Secp256k1<bitcoin::secp256k1::All>,
    local_funding_key: SecretKey,
    remote_funding_key: SecretKey,
    local_htlc_key: SecretKey,
    remote_htlc_key: SecretKey,
    keys: CommitmentKeys,
    remote_payment_basepoint: PublicKey,
    obscure_factor: u64,
    htlcs: Vec<(CommitmentHtlc, PaymentPreimage)>,
}

fn appendix_c() -> AppendixC {
    let secp = Secp256k1::new();
    let local_payment_basepoint_secret = secret("111111111111111111111111111111111111111111111111111111111111111101");
    let remote_revocation_basepoint_secret =
        secret("222222222222222222222222222222222222222222222222222222222222222201");
    let local_delayed_payment_basepoint_secret =
        secret("333333333333333333333333333333333333333333333333333333333333333301");
    let remote_payment_basepoint_secret = secret("444444444444444444444444444444444444444444444444444444444444444401");
    let local_per_commitment_secret = secret("1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a0908070605040302010001");
    let local_funding_key = secret("30ff4956bbdd3222d44cc5e8a1261dab1e07957bdac5ae88fe3261ef321f374901");
    let remote_funding_key = secret("1552dfba4f6cf29a62a0af13c8d6981d36d0ef8d61ba10fb0fe90da7634d7e1301");

    let pk = |s: &SecretKey| PublicKey::from_secret_key(&secp, s);
    let per_commitment_point = pk(&local_per_commitment_secret);
    // The vectors use the payment basepoints as HTLC basepoints too.
    let local = ChannelPublicKeys {
        funding_pubkey: pk(&local_funding_key),
        revocation_basepoint: pk(&local_payment_basepoint_secret),
        payment_basepoint: pk(&local_payment_basepoint_secret),
        delayed_payment_basepoint: pk(&local_delayed_payment_basepoint_secret),
        htlc_basepoint: pk(&local_payment_basepoint_secret),
    };
    let remote = ChannelPublicKeys {
        funding_pubkey: pk(&remote_funding_key),
        revocation_basepoint: pk(&remote_revocation_basepoint_secret),
        payment_basepoint: pk(&remote_payment_basepoint_secret),
        delayed_payment_basepoint: pk(&remote_payment_basepoint_secret),
        htlc_basepoint: pk(&remote_payment_basepoint_secret),
    };
    assert_eq!(
        local.payment_basepoint,
        point("034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa")
    );
    assert_eq!(
        remote.payment_basepoint,
        point("032c0b7cf95324a07d05398b240174dc0c2be444d96b159aa6c7f7b1e668680991")
    );
    assert_eq!(
        local.funding_pubkey,
        point("023da092f6980e58d2c037173180e9a465476026ee50f96695963e8efe436f54eb")
    );
    assert_eq!(
        remote.funding_pubkey,
        point("030e9f7b623d2ccc7c9bd44d66d5ce21ce504c0acf6385a132cec6d3c39fa711c1")
    );

    let keys = CommitmentKeys::derive(&secp, &per_commitment_point, &local, &remote).expect("derives");
    let htlc_keys = keys.htlc.expect("derive makes the HTLC keys");
    assert_eq!(
        htlc_keys.broadcaster_htlc_key,
        point("030d417a46946384f88d5f3337267c5e579765875dc4daca813e21734b140639e7")
    );
    assert_eq!(
        htlc_keys.countersignatory_htlc_key,
        point("0394854aa6eab5b2a8122cc726e9dded053a2184d88256816826d6231c068d4a5b")
    );
    assert_eq!(
        keys.broadcaster_delayed_payment_key,
        point("03fd5960528dc152014952efdb702a88f71e3c1653b2314431701ec77e57fde83c")
    );
    assert_eq!(
        keys.revocation_key,
        point("0212a140cd0c6539d07cd08dfe09984dec3251ea808b892efeac3ede9402bf2b19")
    );
    let local_privkey =
        derive_private_key(&secp, &per_commitment_point, &local_payment_basepoint_secret).expect("derives");
    assert_eq!(
        to_hex(&local_privkey.secret_bytes()),
        "bb13b121cdc357cd2e608b0aea294afca36e2b34cf958e2e6451a2f274694491"
    );

    let obscure_factor = commitment_number_obscure_factor(&local.payment_basepoint, &remote.payment_basepoint);
    assert_eq!(obscure_factor, 0x2bb038521914);

    let mut htlcs = Vec::new();
    let header = &VECTORS[VECTORS.find("# Appendix C").expect("appendix C")..];
    for n in 0..7 {
        let field = |name: &str| {
            let key = alloc::format!("htlc {n} {name}: ");
            let start = header.find(&key).expect("htlc field") + key.len();
            header[start..].lines().next().expect("line").trim().to_string()
        };
        let preimage = PaymentPreimage(key32(&field("payment_preimage")));
        htlcs.push((
            CommitmentHtlc {
                offered: field("direction") == "local->remote",
                amount_msat: field("amount_msat").parse().expect("amount"),
                cltv_expiry: field("expiry").parse().expect("expiry"),
                payment_hash: payment_hash_of(&preimage.0),
            },
            preimage,
        ));
    }
    AppendixC {
        local_htlc_key: derive_private_key(&secp, &per_commitment_point, &local_payment_basepoint_secret)
            .expect("derives"),
        remote_htlc_key: derive_private_key(&secp, &per_commitment_point, &remote_payment_basepoint_secret)
            .expect("derives"),
        secp,
        local_funding_key,
        remote_funding_key,
        keys,
        remote_payment_basepoint: remote.payment_basepoint,
        obscure_factor,
        htlcs,
    }
}

fn der(s: &str) -> Signature {
    Signature::from_der(&hex(s)).expect("DER signature")
}

/// Rebuilds one Appendix C vector and checks every byte and signature it lists.
fn check_commitment_vector(name: &str) {
    let c = appendix_c();
    let case = cases("Appendix C")
        .into_iter()
        .find(|case| case.name == name)
        .expect("vector");
    let htlc_set: Vec<usize> = if name.contains("no HTLCs") {
        Vec::new()
    } else if name.contains("same amount and preimage") {
        alloc::vec![1, 5, 6]
    } else {
        alloc::vec![0, 1, 2, 3, 4]
    };
    let htlcs: Vec<CommitmentHtlc> = htlc_set.iter().map(|i| c.htlcs[*i].0).collect();
    let feerate_per_kw: u32 = case.get("local_feerate_per_kw").parse().expect("feerate");
    let funding_outpoint = OutPoint {
        txid: Txid::from_str("8984484a580b825b9972d7adb15050b3ab624ccd731946b3eeddb92f4e7ef6be").expect("txid"),
        vout: 0,
    };
    let params = CommitmentParams {
        funding_outpoint,
        funding_satoshis: 10_000_000,
        commitment_number: 42,
        obscure_factor: c.obscure_factor,
        broadcaster_is_funder: true,
        to_broadcaster_msat: case.get("to_local_msat").parse().expect("msat"),
        to_countersignatory_msat: case.get("to_remote_msat").parse().expect("msat"),
        feerate_per_kw,
        dust_limit_satoshis: 546,
        to_self_delay: 144,
        keys: &c.keys,
        to_remote_script_pubkey: &to_remote_script_pubkey(&c.remote_payment_basepoint),
        htlcs: &htlcs,
    };
    let commitment = CommitmentTransaction::build(&params).expect("builds");
    let num_htlcs: usize = case.get("num_htlcs").parse().expect("count");
    assert_eq!(commitment.htlc_outputs.len(), num_htlcs, "{name}");
    // One vector does not state its fee; the transaction bytes below cover it.
    if let Some(actual_fee) = case.try_get("actual commitment transaction fee") {
        assert_eq!(commitment.fee_satoshis.to_string(), actual_fee, "{name}");
    }

    let funding_script = funding_redeem_script(
        &PublicKey::from_secret_key(&c.secp, &c.local_funding_key),
        &PublicKey::from_secret_key(&c.secp, &c.remote_funding_key),
    );
    let sign = |key: &SecretKey| {
        sign_p2wsh_input(&c.secp, &commitment.tx, 0, &funding_script, 10_000_000, key).expect("input 0")
    };
    let local_sig = sign(&c.local_funding_key);
    let remote_sig = sign(&c.remote_funding_key);
    assert_eq!(local_sig, der(case.get("local_signature")), "{name}: local signature");
    assert_eq!(
        remote_sig,
        der(case.get("remote_signature")),
        "{name}: remote signature"
    );
    let local_funding = PublicKey::from_secret_key(&c.secp, &c.local_funding_key);
    let remote_funding = PublicKey::from_secret_key(&c.secp, &c.remote_funding_key);
    assert!(verify_p2wsh_input(
        &c.secp,
        &commitment.tx,
        0,
        &funding_script,
        10_000_000,
        &remote_sig,
        &remote_funding
    ));
    let mut signed = commitment.tx.clone();
    signed.input[0].witness = funding_witness(
        &local_sig,
        &local_funding,
        &remote_sig,
        &remote_funding,
        &funding_script,
    );
    assert_eq!(
        to_hex(&serialize(&signed)),
        case.get("output commit_tx"),
        "{name}: commitment transaction"
    );

    // Every HTLC transaction, in output order, with both signatures.
    let remote_htlc_sigs = case.all("remote_htlc_signature");
    let local_htlc_sigs = case.all("local_htlc_signature");
    let htlc_txs: Vec<(&str, &str)> = case
        .fields
        .iter()
        .filter(|(k, _)| k.starts_with("htlc_"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(htlc_txs.len(), num_htlcs, "{name}");
    let txid = commitment.txid();
    for (position, &(htlc_index, vout)) in commitment.htlc_outputs.iter().enumerate() {
        let htlc = &htlcs[htlc_index];
        let vector_htlc = htlc_set[htlc_index];
        let (label, expected_tx) = htlc_txs[position];
        let kind = if htlc.offered {
            "htlc_timeout_tx"
        } else {
            "htlc_success_tx"
        };
        assert_eq!(
            label,
            alloc::format!("{kind} (htlc #{vector_htlc})"),
            "{name}: output {vout}"
        );
        let mut tx = build_htlc_transaction(&txid, vout, htlc, feerate_per_kw, 144, &c.keys);
        let script = htlc.witness_script(&c.keys).expect("the vectors' keys have HTLC keys");
        // The script from its keys, as a caller without a commitment builds it.
        let htlc_keys = c.keys.htlc.expect("the vectors' keys have HTLC keys");
        let (rk, local_key, remote_key) = (
            &c.keys.revocation_key,
            &htlc_keys.broadcaster_htlc_key,
            &htlc_keys.countersignatory_htlc_key,
        );
        let from_keys = if htlc.offered {
            offered_htlc_script(rk, local_key, remote_key, &htlc.payment_hash)
        } else {
            received_htlc_script(rk, local_key, remote_key, &htlc.payment_hash, htlc.cltv_expiry)
        };
        assert_eq!(from_keys, script, "{name}: HTLC #{vector_htlc}'s script from its keys");
        let value = htlc.amount_msat / 1000;
        let remote = sign_p2wsh_input(&c.secp, &tx, 0, &script, value, &c.remote_htlc_key).expect("input 0");
        let local = sign_p2wsh_input(&c.secp, &tx, 0, &script, value, &c.local_htlc_key).expect("input 0");
        assert_eq!(
            remote,
            der(remote_htlc_sigs[position].1),
            "{name}: remote HTLC signature {position}"
        );
        assert_eq!(
            local,
            der(local_htlc_sigs[position].1),
            "{name}: local HTLC signature {position}"
        );
        tx.input[0].witness = if htlc.offered {
            htlc_timeout_witness(&remote, &local, &script)
        } else {
            htlc_success_witness(&remote, &local, &c.htlcs[vector_htlc].1, &script)
        };
        assert_eq!(to_hex(&serialize(&tx)), expected_tx, "{name}: {label}");
    }
}

macro_rules! commitment_vectors {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_commitment_vector($name);
            }
        )*

        #[test]
        fn bolt3_every_appendix_c_vector_has_a_test() {
            let mut names: Vec<String> = cases("Appendix C").into_iter().map(|c| c.name).collect();
            names.sort();
            let mut tested: Vec<String> = [$($name),*].iter().map(|n| n.to_string()).collect();
            tested.sort();
            assert_eq!(names, tested);
        }
    };
}

commitment_vectors! {
    bolt3_commitment_no_htlcs => "simple commitment tx with no HTLCs",
    bolt3_commitment_five_htlcs_untrimmed_min_feerate => "commitment tx with all five HTLCs untrimmed (minimum feerate)",
    bolt3_commitment_seven_outputs_max_feerate => "commitment tx with seven outputs untrimmed (maximum feerate)",
    bolt3_commitment_six_outputs_min_feerate => "commitment tx with six outputs untrimmed (minimum feerate)",
    bolt3_commitment_six_outputs_max_feerate => "commitment tx with six outputs untrimmed (maximum feerate)",
    bolt3_commitment_five_outputs_min_feerate => "commitment tx with five outputs untrimmed (minimum feerate)",
    bolt3_commitment_five_outputs_max_feerate => "commitment tx with five outputs untrimmed (maximum feerate)",
    bolt3_commitment_four_outputs_min_feerate => "commitment tx with four outputs untrimmed (minimum feerate)",
    bolt3_commitment_four_outputs_max_feerate => "commitment tx with four outputs untrimmed (maximum feerate)",
    bolt3_commitment_three_outputs_min_feerate => "commitment tx with three outputs untrimmed (minimum feerate)",
    bolt3_commitment_three_outputs_max_feerate => "commitment tx with three outputs untrimmed (maximum feerate)",
    bolt3_commitment_two_outputs_min_feerate => "commitment tx with two outputs untrimmed (minimum feerate)",
    bolt3_commitment_two_outputs_max_feerate => "commitment tx with two outputs untrimmed (maximum feerate)",
    bolt3_commitment_one_output_min_feerate => "commitment tx with one output untrimmed (minimum feerate)",
    bolt3_commitment_fee_greater_than_funder_amount => "commitment tx with fee greater than funder amount",
    bolt3_commitment_two_offered_same_amount_and_preimage => "commitment tx with 3 htlc outputs, 2 offered having the same amount and preimage",
}

#[test]
fn bolt3_payment_hashes_of_the_vectors() {
    // HTLCs 5 and 6 share a preimage, so their hashes (and scripts) match.
    let c = appendix_c();
    assert_eq!(c.htlcs[5].0.payment_hash, c.htlcs[6].0.payment_hash);
    assert_ne!(c.htlcs[5].0.payment_hash, PaymentHash([0; 32]));
    assert_eq!(
        c.htlcs[0].0.payment_hash.0,
        bitcoin::hashes::sha256::Hash::hash(&[0; 32]).to_byte_array()
    );
}
