//! BOLT 8 Appendix A: every initiator and responder handshake case, and the message
//! encryption vector through two key rotations.
//!
//! Source: the Lightning specification, lightning/bolts `08-transport.md` at commit
//! a3772650d8ebc06acf457fcadf97968ebfc4dfff, licensed CC-BY 4.0.

use alloc::vec::Vec;

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

use super::cipher::{TransportCipher, LENGTH_HEADER_LEN};
use super::handshake::{Handshake, HandshakeError, HandshakeStep};
use crate::sign::InMemoryNodeSigner;

fn hex(s: &str) -> Vec<u8> {
    let s = s.trim_start_matches("0x");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn key32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&hex(s));
    out
}

fn secret(s: &str) -> SecretKey {
    SecretKey::from_slice(&hex(s)).expect("vector secret")
}

fn point(s: &str) -> PublicKey {
    PublicKey::from_slice(&hex(s)).expect("vector point")
}

const RS_PUB: &str = "028d7500dd4c12685d1f568b4c2b5048e8534b873319f3a8daa612b469132ec7f7";
const LS_PRIV_INITIATOR: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const LS_PUB_INITIATOR: &str = "034f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa";
const E_PRIV_INITIATOR: &str = "1212121212121212121212121212121212121212121212121212121212121212";
const LS_PRIV_RESPONDER: &str = "2121212121212121212121212121212121212121212121212121212121212121";
const E_PRIV_RESPONDER: &str = "2222222222222222222222222222222222222222222222222222222222222222";

const ACT_ONE: &str =
    "0x00036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6a";
const ACT_TWO: &str =
    "0x0002466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730ae";
const ACT_THREE: &str = "0x00b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139ba";
const SK: &str = "969ab31b4d288cedf6218839b27a3e2140827047f2c0f01bf5c04435d43511a9";
const RK: &str = "bb9020b8965f4df047e07f955f3c4b88418984aadc5cdb35096b9ea8fa5c3442";
const CK: &str = "919219dbb2920afa8db80f9a51787a840bcf111ed8d588caf9ab4be716e42b01";

fn initiator() -> (Handshake, [u8; 50], InMemoryNodeSigner) {
    let signer = InMemoryNodeSigner::new(secret(LS_PRIV_INITIATOR));
    assert_eq!(crate::sign::NodeSigner::node_id(&signer), point(LS_PUB_INITIATOR));
    let (hs, act_one) = Handshake::new_outbound(&Secp256k1::new(), point(RS_PUB), secret(E_PRIV_INITIATOR));
    (hs, act_one, signer)
}

fn responder() -> (Handshake, InMemoryNodeSigner) {
    let signer = InMemoryNodeSigner::new(secret(LS_PRIV_RESPONDER));
    let hs = Handshake::new_inbound(&Secp256k1::new(), &point(RS_PUB), secret(E_PRIV_RESPONDER));
    (hs, signer)
}

/// Encrypts one message with `cipher` and returns its bytes.
fn encrypt(cipher: &mut TransportCipher, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    cipher.encrypt_message(message, &mut out);
    out
}

/// Checks that `a` encrypts what `b` decrypts.
fn assert_ciphers_pair(a: &mut TransportCipher, b: &mut TransportCipher) {
    let mut wire = encrypt(a, b"ping");
    let mut header = [0u8; LENGTH_HEADER_LEN];
    header.copy_from_slice(&wire[..LENGTH_HEADER_LEN]);
    assert_eq!(b.decrypt_length(&header), Ok(4 + 16));
    assert_eq!(b.decrypt_body(&mut wire[LENGTH_HEADER_LEN..]), Ok(&b"ping"[..]));
}

#[test]
fn bolt8_initiator_successful_handshake() {
    let (mut hs, act_one, signer) = initiator();
    assert_eq!(act_one.to_vec(), hex(ACT_ONE));
    let step = hs.process_act(&hex(ACT_TWO), &signer);
    let Ok(HandshakeStep::Complete {
        act_three: Some(act_three),
        their_node_id,
        mut cipher,
    }) = step
    else {
        panic!("expected completion, got {step:?}");
    };
    assert_eq!(act_three.to_vec(), hex(ACT_THREE));
    assert_eq!(their_node_id, point(RS_PUB));
    // sk and rk as the vector gives them: check by pairing with a cipher built from them.
    let mut expected_peer = TransportCipher::new(key32(CK), key32(RK), key32(SK));
    assert_ciphers_pair(&mut cipher, &mut expected_peer);
    assert_ciphers_pair(&mut expected_peer, &mut cipher);
}

#[test]
fn bolt8_initiator_act2_failures() {
    let cases: &[(&str, HandshakeError)] = &[
        (
            "0x0002466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730",
            HandshakeError::ShortRead { act: 2 },
        ),
        (
            "0x0102466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730ae",
            HandshakeError::BadVersion { act: 2, version: 1 },
        ),
        (
            "0x0004466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730ae",
            HandshakeError::BadPublicKey { act: 2 },
        ),
        (
            "0x0002466d7fcae563e5cb09a0d1870bb580344804617879a14949cf22285f1bae3f276e2470b93aac583c9ef6eafca3f730af",
            HandshakeError::BadTag { act: 2 },
        ),
    ];
    for (input, expected) in cases {
        let (mut hs, act_one, signer) = initiator();
        assert_eq!(act_one.to_vec(), hex(ACT_ONE));
        let result = hs.process_act(&hex(input), &signer);
        assert!(matches!(&result, Err(e) if e == expected), "{input}: {result:?}");
        // A failed handshake stays failed.
        assert!(matches!(
            hs.process_act(&hex(ACT_TWO), &signer),
            Err(HandshakeError::Finished)
        ));
    }
}

#[test]
fn bolt8_responder_successful_handshake() {
    let (mut hs, signer) = responder();
    let step = hs.process_act(&hex(ACT_ONE), &signer);
    let Ok(HandshakeStep::ActTwo(act_two)) = step else {
        panic!("expected act two, got {step:?}")
    };
    assert_eq!(act_two.to_vec(), hex(ACT_TWO));
    let step = hs.process_act(&hex(ACT_THREE), &signer);
    let Ok(HandshakeStep::Complete {
        act_three: None,
        their_node_id,
        mut cipher,
    }) = step
    else {
        panic!("expected completion, got {step:?}");
    };
    assert_eq!(their_node_id, point(LS_PUB_INITIATOR));
    // The responder's rk is the initiator's sk and vice versa.
    let mut expected_peer = TransportCipher::new(key32(CK), key32(SK), key32(RK));
    assert_ciphers_pair(&mut cipher, &mut expected_peer);
    assert_ciphers_pair(&mut expected_peer, &mut cipher);
}

#[test]
fn bolt8_responder_act1_failures() {
    let cases: &[(&str, HandshakeError)] = &[
        (
            "0x00036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c",
            HandshakeError::ShortRead { act: 1 },
        ),
        (
            "0x01036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6a",
            HandshakeError::BadVersion { act: 1, version: 1 },
        ),
        (
            "0x00046360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6a",
            HandshakeError::BadPublicKey { act: 1 },
        ),
        (
            "0x00036360e856310ce5d294e8be33fc807077dc56ac80d95d9cd4ddbd21325eff73f70df6086551151f58b8afe6c195782c6b",
            HandshakeError::BadTag { act: 1 },
        ),
    ];
    for (input, expected) in cases {
        let (mut hs, signer) = responder();
        let result = hs.process_act(&hex(input), &signer);
        assert!(matches!(&result, Err(e) if e == expected), "{input}: {result:?}");
    }
}

#[test]
fn bolt8_responder_act3_failures() {
    let cases: &[(&str, HandshakeError)] = &[
        (
            "0x01b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139ba",
            HandshakeError::BadVersion { act: 3, version: 1 },
        ),
        (
            "0x00b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139",
            HandshakeError::ShortRead { act: 3 },
        ),
        (
            "0x00c9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139ba",
            HandshakeError::BadCiphertext,
        ),
        (
            "0x00bfe3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa2235536ad09a8ee351870c2bb7f78b754a26c6cef79a98d25139c856d7efd252c2ae73c",
            HandshakeError::BadPublicKey { act: 3 },
        ),
        (
            "0x00b9e3a702e93e3a9948c2ed6e5fd7590a6e1c3a0344cfc9d5b57357049aa22355361aa02e55a8fc28fef5bd6d71ad0c38228dc68b1c466263b47fdf31e560e139bb",
            HandshakeError::BadTag { act: 3 },
        ),
    ];
    for (input, expected) in cases {
        let (mut hs, signer) = responder();
        let step = hs.process_act(&hex(ACT_ONE), &signer);
        let Ok(HandshakeStep::ActTwo(act_two)) = step else {
            panic!("act two: {step:?}")
        };
        assert_eq!(act_two.to_vec(), hex(ACT_TWO));
        let result = hs.process_act(&hex(input), &signer);
        assert!(matches!(&result, Err(e) if e == expected), "{input}: {result:?}");
    }
}

#[test]
fn bolt8_message_encryption_with_key_rotation() {
    let mut cipher = TransportCipher::new(key32(CK), key32(SK), key32(RK));
    // The receiving side: its receiving key is the sender's sk.
    let mut receiver = TransportCipher::new(key32(CK), key32(RK), key32(SK));
    let expected = [
        (
            0,
            "0xcf2b30ddf0cf3f80e7c35a6e6730b59fe802473180f396d88a8fb0db8cbcf25d2f214cf9ea1d95",
        ),
        (
            1,
            "0x72887022101f0b6753e0c7de21657d35a4cb2a1f5cde2650528bbc8f837d0f0d7ad833b1a256a1",
        ),
        (
            500,
            "0x178cb9d7387190fa34db9c2d50027d21793c9bc2d40b1e14dcf30ebeeeb220f48364f7a4c68bf8",
        ),
        (
            501,
            "0x1b186c57d44eb6de4c057c49940d79bb838a145cb528d6e8fd26dbe50a60ca2c104b56b60e45bd",
        ),
        (
            1000,
            "0x4a2f3cc3b5e78ddb83dcb426d9863d9d9a723b0337c89dd0b005d89f8d3c05c52b76b29b740f09",
        ),
        (
            1001,
            "0x2ecd8c8a5629d0d02ab457a0fdd0f7b90a192cd46be5ecb6ca570bfc5e268338b1a16cf4ef2d36",
        ),
    ];
    let mut checked = 0;
    for i in 0..=1001 {
        let mut wire = encrypt(&mut cipher, b"hello");
        if let Some((_, output)) = expected.iter().find(|(n, _)| *n == i) {
            assert_eq!(wire, hex(output), "output {i}");
            checked += 1;
        }
        // The receiver rotates in step and decrypts every message.
        let mut header = [0u8; LENGTH_HEADER_LEN];
        header.copy_from_slice(&wire[..LENGTH_HEADER_LEN]);
        assert_eq!(receiver.decrypt_length(&header), Ok(5 + 16), "length {i}");
        assert_eq!(
            receiver.decrypt_body(&mut wire[LENGTH_HEADER_LEN..]),
            Ok(&b"hello"[..]),
            "body {i}"
        );
    }
    assert_eq!(checked, expected.len());
}

#[test]
fn bolt8_tampered_messages_are_rejected() {
    let mut sender = TransportCipher::new(key32(CK), key32(SK), key32(RK));
    let mut receiver = TransportCipher::new(key32(CK), key32(RK), key32(SK));
    let mut wire = encrypt(&mut sender, b"hello");
    let last = wire.len() - 1;
    wire[last] ^= 0x01;
    let mut header = [0u8; LENGTH_HEADER_LEN];
    header.copy_from_slice(&wire[..LENGTH_HEADER_LEN]);
    assert_eq!(receiver.decrypt_length(&header), Ok(21));
    assert_eq!(
        receiver.decrypt_body(&mut wire[LENGTH_HEADER_LEN..]),
        Err(super::cipher::DecryptError::BadMessageTag)
    );
    header[0] ^= 0x01;
    assert_eq!(
        receiver.decrypt_length(&header),
        Err(super::cipher::DecryptError::BadLengthTag)
    );
}

/// A message of zero bytes is a frame of a header and a bare MAC, and decrypts to
/// nothing; a body shorter than its MAC is refused, not read past.
#[test]
fn bolt8_an_empty_message_decrypts_and_a_body_shorter_than_its_mac_is_refused() {
    use super::cipher::DecryptError;
    let (ck, k1, k2) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let mut sender = TransportCipher::new(ck, k1, k2);
    let mut receiver = TransportCipher::new(ck, k2, k1);
    let frame = encrypt(&mut sender, &[]);
    assert_eq!(frame.len(), LENGTH_HEADER_LEN + 16);
    let mut header = [0u8; LENGTH_HEADER_LEN];
    header.copy_from_slice(&frame[..LENGTH_HEADER_LEN]);
    assert_eq!(receiver.decrypt_length(&header), Ok(16));
    let mut body = frame[LENGTH_HEADER_LEN..].to_vec();
    assert_eq!(receiver.decrypt_body(&mut body), Ok(&[][..]));
    let mut short = [0u8; 15];
    assert_eq!(receiver.decrypt_body(&mut short), Err(DecryptError::BadMessageTag));
}
