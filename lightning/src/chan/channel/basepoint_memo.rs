//! What building a commitment hashes from the channel's basepoints alone: the same for
//! every commitment of a channel, and a hash or two each time otherwise (a channel
//! builds two commitments per update round).

use core::cell::{Cell, Ref, RefCell};

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;

use crate::chan::commitment::commitment_number_obscure_factor;
use crate::chan::ledger::Side;
use crate::chan::script::to_remote_script_pubkey;

/// The last value of each, keyed by the basepoints it came from, so a value can never
/// outlive its inputs. Not persisted: a channel read back computes them again.
#[derive(Clone, Default)]
pub(crate) struct BasepointMemo {
    obscure_factor: Cell<Option<(PublicKey, PublicKey, u64)>>,
    /// By broadcaster: the holder's commitment pays `to_remote` to the counterparty's
    /// payment basepoint, and the other way round.
    to_remote: RefCell<[Option<(PublicKey, ScriptBuf)>; 2]>,
}

impl BasepointMemo {
    /// [`commitment_number_obscure_factor`] of the two payment basepoints.
    pub(crate) fn obscure_factor(&self, opener: &PublicKey, accepter: &PublicKey) -> u64 {
        match self.obscure_factor.get() {
            Some((o, a, factor)) if o == *opener && a == *accepter => factor,
            _ => {
                let factor = commitment_number_obscure_factor(opener, accepter);
                self.obscure_factor.set(Some((*opener, *accepter, factor)));
                factor
            }
        }
    }

    /// [`to_remote_script_pubkey`] of `payment_point`, the countersignatory's, on
    /// `broadcaster`'s commitment; lent, so the commitment's output is its only copy.
    pub(crate) fn to_remote_script_pubkey(&self, broadcaster: Side, payment_point: &PublicKey) -> Ref<'_, ScriptBuf> {
        let slot = match broadcaster {
            Side::Holder => 0,
            Side::Counterparty => 1,
        };
        {
            let mut memo = self.to_remote.borrow_mut();
            if !matches!(&memo[slot], Some((point, _)) if point == payment_point) {
                memo[slot] = Some((*payment_point, to_remote_script_pubkey(payment_point)));
            }
        }
        Ref::map(self.to_remote.borrow(), |memo| {
            &memo[slot].as_ref().expect("the slot was filled just above").1
        })
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    use super::*;

    fn point(byte: u8) -> PublicKey {
        PublicKey::from_secret_key(
            &Secp256k1::new(),
            &SecretKey::from_slice(&[byte; 32]).expect("in range"),
        )
    }

    #[test]
    fn a_remembered_value_is_given_only_for_the_points_it_came_from() {
        let memo = BasepointMemo::default();
        let (a, b, c) = (point(1), point(2), point(3));
        // Repeated, swapped, and sharing one point with the pair remembered.
        for (opener, accepter) in [(a, b), (a, b), (b, a), (a, c), (a, b), (c, b)] {
            assert_eq!(
                memo.obscure_factor(&opener, &accepter),
                commitment_number_obscure_factor(&opener, &accepter)
            );
        }
        for broadcaster in [Side::Holder, Side::Counterparty] {
            for p in [a, b, a, c] {
                assert_eq!(
                    *memo.to_remote_script_pubkey(broadcaster, &p),
                    to_remote_script_pubkey(&p)
                );
            }
        }
        // Each side keeps its own: asking for one does not evict the other.
        let _ = memo.to_remote_script_pubkey(Side::Holder, &a);
        let _ = memo.to_remote_script_pubkey(Side::Counterparty, &b);
        assert_eq!(
            *memo.to_remote_script_pubkey(Side::Holder, &a),
            to_remote_script_pubkey(&a)
        );
    }
}
