//! Two channel state machines with real keys and signatures, messages moved by hand:
//! establishment, payments both ways, simultaneous commitments, fail, fulfill,
//! `update_fee`, and the peer's limit violations failing the channel.

use std::collections::VecDeque;

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::{Network, OutPoint, Txid};
use lightning::chan::channel::establish::OpenChannelParams;
use lightning::chan::channel::{Channel, ChannelError, ChannelLimits, ChannelPhase};
use lightning::chan::ledger::Side;
use lightning::chan::snapshot::ChannelSnapshot;
use lightning::sign::{InMemoryChannelSigner, KeysManager};
use lightning::wire::{ChannelId, Message, OnionPacket, PaymentHash, PaymentPreimage};

type Chan = Channel<InMemoryChannelSigner>;

struct Pair {
    nodes: [Chan; 2],
    /// Messages in flight from node i to the other, in order.
    wires: [VecDeque<Message>; 2],
    /// Preimages learned by node i from fulfills.
    preimages: [Vec<PaymentPreimage>; 2],
}

const FUNDING_SATOSHIS: u64 = 1_000_000;

fn chain() -> ChainHash {
    ChainHash::using_genesis_block(Network::Regtest)
}

fn onion() -> OnionPacket {
    OnionPacket {
        version: 0,
        public_key: [2; 33],
        hop_payloads: [0; 1300],
        hmac: [0; 32],
    }
}

fn preimage(n: u8) -> (PaymentPreimage, PaymentHash) {
    let preimage = PaymentPreimage([n; 32]);
    (
        preimage,
        PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array()),
    )
}

fn open_pair(push_msat: u64) -> Pair {
    let a_signer = KeysManager::new(&[1; 32]).derive_channel_signer(&[1; 32]);
    let b_signer = KeysManager::new(&[2; 32]).derive_channel_signer(&[2; 32]);
    let params = OpenChannelParams {
        chain_hash: chain(),
        temporary_channel_id: ChannelId([9; 32]),
        funding_satoshis: FUNDING_SATOSHIS,
        push_msat,
        feerate_per_kw: 1000,
        limits: ChannelLimits::default_for(FUNDING_SATOSHIS),
    };
    let (mut a, open) = Chan::new_outbound(a_signer, &params).expect("open");
    let (mut b, accept) = Chan::new_inbound(
        b_signer,
        chain(),
        ChannelLimits::default_for(FUNDING_SATOSHIS),
        3,
        &open,
    )
    .expect("accept");
    a.accept_channel(&accept).expect("accepted");
    assert_eq!(a.phase(), ChannelPhase::AwaitingFundingTransaction);
    assert!(a.funding_script_pubkey().expect("script").is_p2wsh());
    let outpoint = OutPoint {
        txid: Txid::from_byte_array([5; 32]),
        vout: 1,
    };
    let created = a
        .funding_transaction_generated(outpoint)
        .expect("funding_created");
    let signed = b.funding_created(&created).expect("funding_signed");
    a.funding_signed(&signed).expect("commitment 0 verified");
    assert_eq!(a.channel_id(), b.channel_id());
    let ready_a = a.funding_confirmed().expect("ready");
    let ready_b = b.funding_confirmed().expect("ready");
    a.channel_ready(&ready_b).expect("ready");
    b.channel_ready(&ready_a).expect("ready");
    assert_eq!(a.phase(), ChannelPhase::Normal);
    assert_eq!(b.phase(), ChannelPhase::Normal);
    Pair {
        nodes: [a, b],
        wires: [VecDeque::new(), VecDeque::new()],
        preimages: [Vec::new(), Vec::new()],
    }
}

impl Pair {
    fn send(&mut self, from: usize, message: Message) {
        self.wires[from].push_back(message);
    }

    /// Delivers the next message to `to`; its reply, if any, is queued back.
    fn deliver(&mut self, to: usize) -> Result<bool, ChannelError> {
        let Some(message) = self.wires[1 - to].pop_front() else {
            return Ok(false);
        };
        let node = &mut self.nodes[to];
        match message {
            Message::UpdateAddHtlc(m) => node.update_add_htlc(&m)?,
            Message::UpdateFulfillHtlc(m) => {
                node.update_fulfill_htlc(&m)?;
                self.preimages[to].push(m.payment_preimage);
            }
            Message::UpdateFailHtlc(m) => {
                node.update_fail_htlc(&m)?;
            }
            Message::UpdateFee(m) => node.update_fee(&m)?,
            Message::CommitmentSigned(m) => {
                let revoke = node.commitment_signed(&m)?;
                self.wires[to].push_back(Message::RevokeAndAck(revoke));
            }
            Message::RevokeAndAck(m) => node.revoke_and_ack(&m)?,
            other => panic!("unexpected {other:?}"),
        }
        Ok(true)
    }

    fn commit(&mut self, by: usize) {
        if let Some(signed) = self.nodes[by].send_commitment().expect("signs") {
            self.send(by, Message::CommitmentSigned(signed));
        }
    }

    /// Commits and delivers until both sides are quiet and agree.
    fn settle(&mut self) {
        for _ in 0..100 {
            self.commit(0);
            self.commit(1);
            let moved = self.deliver(0).expect("valid") | self.deliver(1).expect("valid");
            if !moved && self.wires.iter().all(|w| w.is_empty()) {
                let outdated = self
                    .nodes
                    .iter()
                    .any(|n| n.ledger().counterparty_commitment_outdated());
                if !outdated {
                    self.assert_mirrored();
                    return;
                }
            }
        }
        panic!("did not settle");
    }

    fn assert_mirrored(&self) {
        let [a, b] = &self.nodes;
        let (a_own, b_own) = (a.holder_view(), b.holder_view());
        assert_eq!(a_own.holder_balance_msat, b_own.counterparty_balance_msat);
        assert_eq!(a_own.counterparty_balance_msat, b_own.holder_balance_msat);
        assert_eq!(a_own.htlcs.len(), b_own.htlcs.len());
        assert_eq!(a_own.feerate_per_kw, b_own.feerate_per_kw);
        assert_eq!(a_own.total_msat(), FUNDING_SATOSHIS * 1000);
        assert_eq!(
            a.holder_commitment_number(),
            b.counterparty_commitment_number()
        );
        assert_eq!(
            b.holder_commitment_number(),
            a.counterparty_commitment_number()
        );
    }

    fn pay(&mut self, from: usize, amount_msat: u64, n: u8) -> u64 {
        let (_, hash) = preimage(n);
        let add = self.nodes[from]
            .send_htlc(amount_msat, hash, 800_000, onion())
            .expect("can pay");
        self.send(from, Message::UpdateAddHtlc(Box::new(add.clone())));
        self.settle();
        add.id
    }

    fn balances(&self) -> (u64, u64) {
        let view = self.nodes[0].holder_view();
        (view.holder_balance_msat, view.counterparty_balance_msat)
    }
}

#[test]
fn payments_both_ways_settle_and_move_value() {
    let mut pair = open_pair(200_000_000);
    let id = pair.pay(0, 50_000_000, 1);
    assert_eq!(pair.balances(), (750_000_000, 200_000_000));
    let fulfill = pair.nodes[1]
        .fulfill_htlc(id, preimage(1).0)
        .expect("committed");
    pair.send(1, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    assert_eq!(pair.balances(), (750_000_000, 250_000_000));
    assert_eq!(pair.preimages[0], vec![preimage(1).0]);

    let id = pair.pay(1, 30_000_000, 2);
    let fulfill = pair.nodes[0]
        .fulfill_htlc(id, preimage(2).0)
        .expect("committed");
    pair.send(0, Message::UpdateFulfillHtlc(fulfill));
    pair.settle();
    assert_eq!(pair.balances(), (780_000_000, 220_000_000));
    assert!(pair.nodes[0].holder_view().htlcs.is_empty());
    assert_eq!(pair.nodes[0].ledger().pending_updates(), 0);
}

#[test]
fn a_failed_htlc_returns_to_its_offerer() {
    let mut pair = open_pair(0);
    let id = pair.pay(0, 10_000_000, 3);
    let fail = pair.nodes[1]
        .fail_htlc(id, vec![0xaa; 292])
        .expect("committed");
    pair.send(1, Message::UpdateFailHtlc(fail));
    pair.settle();
    assert_eq!(pair.balances(), (1_000_000_000, 0));
    assert!(pair.preimages[0].is_empty());
}

#[test]
fn simultaneous_commitment_signed_from_both_sides() {
    let mut pair = open_pair(300_000_000);
    let (_, h1) = preimage(4);
    let (_, h2) = preimage(5);
    let a_add = pair.nodes[0]
        .send_htlc(20_000_000, h1, 800_000, onion())
        .expect("add");
    let b_add = pair.nodes[1]
        .send_htlc(10_000_000, h2, 800_000, onion())
        .expect("add");
    pair.send(0, Message::UpdateAddHtlc(Box::new(a_add)));
    pair.send(1, Message::UpdateAddHtlc(Box::new(b_add)));
    // Both sign before either hears the other's signature.
    pair.commit(0);
    pair.commit(1);
    assert!(matches!(
        pair.wires[0].back(),
        Some(Message::CommitmentSigned(_))
    ));
    assert!(matches!(
        pair.wires[1].back(),
        Some(Message::CommitmentSigned(_))
    ));
    pair.settle();
    assert_eq!(pair.nodes[0].holder_view().htlcs.len(), 2);
    assert_eq!(pair.balances(), (680_000_000, 290_000_000));
}

#[test]
fn update_fee_changes_both_commitments() {
    let mut pair = open_pair(0);
    let fee = pair.nodes[0].send_update_fee(5000).expect("funder");
    pair.send(0, Message::UpdateFee(fee));
    pair.settle();
    assert_eq!(pair.nodes[0].holder_view().feerate_per_kw, 5000);
    assert_eq!(pair.nodes[1].holder_view().feerate_per_kw, 5000);
    // The fundee may not change the fee.
    assert!(matches!(
        pair.nodes[1].send_update_fee(6000),
        Err(ChannelError::Ignore(_))
    ));
}

#[test]
fn limit_violations_by_the_peer_fail_the_channel() {
    let mut pair = open_pair(0);
    let (_, hash) = preimage(6);
    // A zero-value HTLC.
    let mut add = pair.nodes[0].clone_add_for_test(1, hash);
    add.amount_msat = 0;
    assert!(matches!(
        pair.nodes[1].update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // More than the sender has.
    add.amount_msat = 2_000_000_000;
    assert!(matches!(
        pair.nodes[1].update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // A timestamp expiry.
    add.amount_msat = 1_000;
    add.cltv_expiry = 500_000_000;
    assert!(matches!(
        pair.nodes[1].update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // A skipped id.
    add.cltv_expiry = 800_000;
    add.id = 7;
    assert!(matches!(
        pair.nodes[1].update_add_htlc(&add),
        Err(ChannelError::Close(_))
    ));
    // Our own sends are refused, not fatal, and leave the channel untouched.
    assert!(matches!(
        pair.nodes[0].send_htlc(2_000_000_000, hash, 800_000, onion()),
        Err(ChannelError::Ignore(_))
    ));
    assert_eq!(pair.nodes[0].ledger().pending_updates(), 0);
    // The fundee has nothing to send.
    assert!(matches!(
        pair.nodes[1].send_htlc(1_000, hash, 800_000, onion()),
        Err(ChannelError::Ignore(_))
    ));
}

#[test]
fn a_wrong_preimage_or_signature_fails_the_channel() {
    let mut pair = open_pair(0);
    let id = pair.pay(0, 10_000_000, 7);
    let mut fulfill = pair.nodes[1]
        .fulfill_htlc(id, preimage(7).0)
        .expect("committed");
    fulfill.payment_preimage = PaymentPreimage([0xee; 32]);
    assert!(matches!(
        pair.nodes[0].update_fulfill_htlc(&fulfill),
        Err(ChannelError::Close(_))
    ));

    let mut pair = open_pair(0);
    let (_, hash) = preimage(8);
    let add = pair.nodes[0]
        .send_htlc(10_000_000, hash, 800_000, onion())
        .expect("add");
    pair.nodes[1].update_add_htlc(&add).expect("valid");
    let mut signed = pair.nodes[0]
        .send_commitment()
        .expect("signs")
        .expect("something to sign");
    signed.htlc_signatures[0] = signed.signature;
    assert!(matches!(
        pair.nodes[1].commitment_signed(&signed),
        Err(ChannelError::Close(_))
    ));
    // An empty commitment_signed is a violation too.
    let mut pair = open_pair(0);
    let signed_nothing = lightning::wire::CommitmentSigned {
        channel_id: pair.nodes[0].channel_id(),
        signature: signed.signature,
        htlc_signatures: vec![],
        tlvs: Default::default(),
    };
    assert!(matches!(
        pair.nodes[1].commitment_signed(&signed_nothing),
        Err(ChannelError::Close(_))
    ));
    let _ = pair.deliver(0);
}

#[test]
fn the_ledger_offers_irrevocability_only_after_both_revocations() {
    let mut pair = open_pair(0);
    let (_, hash) = preimage(9);
    let add = pair.nodes[0]
        .send_htlc(10_000_000, hash, 800_000, onion())
        .expect("add");
    pair.send(0, Message::UpdateAddHtlc(Box::new(add)));
    pair.deliver(1).expect("add");
    pair.commit(0);
    // With the signature in flight the two ends disagree, and the snapshot diff says where.
    let diffs =
        ChannelSnapshot::of(&pair.nodes[0]).diff_against_peer(&ChannelSnapshot::of(&pair.nodes[1]));
    assert!(diffs.iter().any(|d| d.starts_with("htlc")), "{diffs:?}");
    assert!(
        diffs
            .iter()
            .any(|d| d.starts_with("counterparty commitment")),
        "{diffs:?}"
    );
    pair.deliver(1).expect("commitment_signed");
    // Once delivered, both describe the same two commitments.
    let diffs =
        ChannelSnapshot::of(&pair.nodes[0]).diff_against_peer(&ChannelSnapshot::of(&pair.nodes[1]));
    assert!(diffs.is_empty(), "{diffs:?}");
    // In B's commitment, but not yet irrevocable: B may not fulfill it.
    assert!(!pair.nodes[1]
        .ledger()
        .is_irrevocably_committed(Side::Counterparty, 0));
    assert!(matches!(
        pair.nodes[1].fulfill_htlc(0, preimage(9).0),
        Err(ChannelError::Ignore(_))
    ));
    pair.settle();
    assert!(pair.nodes[1]
        .ledger()
        .is_irrevocably_committed(Side::Counterparty, 0));
}

trait AddForTest {
    fn clone_add_for_test(
        &self,
        amount_msat: u64,
        hash: PaymentHash,
    ) -> lightning::wire::UpdateAddHtlc;
}

impl AddForTest for Chan {
    fn clone_add_for_test(
        &self,
        amount_msat: u64,
        payment_hash: PaymentHash,
    ) -> lightning::wire::UpdateAddHtlc {
        lightning::wire::UpdateAddHtlc {
            channel_id: self.channel_id(),
            id: 0,
            amount_msat,
            payment_hash,
            cltv_expiry: 800_000,
            onion_routing_packet: onion(),
            tlvs: Default::default(),
        }
    }
}
