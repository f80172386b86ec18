//! Reconnection (BOLT 2 "Message Retransmission"): on disconnection the peer's
//! uncommitted updates are reversed; on reconnection both sides send
//! `channel_reestablish`, and each retransmits what the other missed, in the original
//! order. A peer that proves we lost data (a revocation secret we have not reached)
//! makes us stop using the channel without ever broadcasting our stale state.

use alloc::vec::Vec;

use bitcoin::secp256k1::{PublicKey, SecretKey};

use super::{close, signer_error, Channel, ChannelError, ChannelPhase, LastSent};
use crate::chan::ledger::{Removal, Update};
use crate::sign::ChannelSigner;
use crate::wire::{
    ChannelReady, ChannelReadyTlvs, ChannelReestablish, ChannelReestablishTlvs, CommitmentSigned, Message, NoTlvs,
    RevokeAndAck, SettleHtlcTlvs, Shutdown, UpdateAddHtlc, UpdateAddHtlcTlvs, UpdateFailHtlc, UpdateFailMalformedHtlc,
    UpdateFee, UpdateFulfillHtlc,
};

impl<S: ChannelSigner> Channel<S> {
    /// Whether the peer is connected (updates are refused while it is not).
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The peer disconnected: reverse its uncommitted updates (it will resend them).
    pub fn peer_disconnected(&mut self) {
        self.connected = false;
        self.ledger.reverse_uncommitted_counterparty_updates();
        // `closing_signed` negotiation restarts on reconnection (BOLT 2).
        if self.close.closing_transaction.is_none() {
            self.close.last_sent_fee_satoshis = None;
            self.close.last_received_fee_satoshis = None;
            self.close.fee_range = None;
        }
    }

    /// Our `channel_reestablish` for the reconnection.
    pub fn channel_reestablish_message(&self) -> Result<ChannelReestablish, ChannelError> {
        let next_revocation_number = if self.awaiting_revoke {
            self.counterparty_commitment_number - 1
        } else {
            self.counterparty_commitment_number
        };
        let your_last_per_commitment_secret = match next_revocation_number.checked_sub(1) {
            Some(last_revoked) => self
                .counterparty_secret(last_revoked)
                .ok_or_else(|| close("missing secret"))?,
            None => [0; 32],
        };
        let point = self
            .signer
            .per_commitment_point(self.holder_commitment_number)
            .map_err(|e| signer_error("per-commitment point", e))?;
        Ok(ChannelReestablish {
            channel_id: self.channel_id,
            next_commitment_number: self.holder_commitment_number + 1,
            next_revocation_number,
            your_last_per_commitment_secret,
            my_current_per_commitment_point: point,
            tlvs: ChannelReestablishTlvs::default(),
        })
    }

    pub(super) fn counterparty_secret(&self, commitment_number: u64) -> Option<[u8; 32]> {
        let index = crate::chan::secrets::INITIAL_COMMITMENT_NUMBER.checked_sub(commitment_number)?;
        self.counterparty_secrets.get(index)
    }

    /// Checks the peer's claim about our revocations: the secret it says it has last
    /// received must be ours. If it proves a revocation we have not reached, we lost data.
    fn check_data_loss(&self, msg: &ChannelReestablish) -> Result<(), ChannelError> {
        let Some(claimed) = msg.next_revocation_number.checked_sub(1) else {
            return Ok(());
        };
        let secret = SecretKey::from_slice(&msg.your_last_per_commitment_secret)
            .map_err(|_| close("your_last_per_commitment_secret is not a valid key"))?;
        let ours = self
            .signer
            .per_commitment_point(claimed)
            .map_err(|e| signer_error("per-commitment point", e))?;
        if PublicKey::from_secret_key(&self.secp, &secret) != ours {
            return Err(close("your_last_per_commitment_secret is not ours"));
        }
        if msg.next_revocation_number > self.holder_commitment_number {
            return Err(ChannelError::DataLoss(
                alloc::format!(
                    "the peer has our revocation of commitment {claimed}; we are at {}",
                    self.holder_commitment_number
                )
                .into(),
            ));
        }
        Ok(())
    }

    /// The wire message for one of our log entries.
    fn update_message(&self, update: &Update) -> Result<Message, ChannelError> {
        let channel_id = self.channel_id;
        Ok(match update {
            Update::AddHtlc(htlc) => {
                let onion = self
                    .pending_onions
                    .get(&htlc.id)
                    .ok_or_else(|| close("onion of a pending HTLC lost"))?;
                Message::UpdateAddHtlc(alloc::boxed::Box::new(UpdateAddHtlc {
                    channel_id,
                    id: htlc.id,
                    amount_msat: htlc.amount_msat,
                    payment_hash: htlc.payment_hash,
                    cltv_expiry: htlc.cltv_expiry,
                    onion_routing_packet: onion.clone(),
                    tlvs: UpdateAddHtlcTlvs::default(),
                }))
            }
            Update::RemoveHtlc {
                htlc_id,
                removal: Removal::Fulfill(preimage),
            } => Message::UpdateFulfillHtlc(UpdateFulfillHtlc {
                channel_id,
                id: *htlc_id,
                payment_preimage: *preimage,
                tlvs: SettleHtlcTlvs::default(),
            }),
            Update::RemoveHtlc {
                htlc_id,
                removal: Removal::Fail(reason),
            } => Message::UpdateFailHtlc(UpdateFailHtlc {
                channel_id,
                id: *htlc_id,
                reason: reason.clone(),
                tlvs: SettleHtlcTlvs::default(),
            }),
            Update::RemoveHtlc {
                htlc_id,
                removal:
                    Removal::FailMalformed {
                        sha256_of_onion,
                        failure_code,
                    },
            } => Message::UpdateFailMalformedHtlc(UpdateFailMalformedHtlc {
                channel_id,
                id: *htlc_id,
                sha256_of_onion: *sha256_of_onion,
                failure_code: *failure_code,
                extension: NoTlvs::default(),
            }),
            Update::Fee { feerate_per_kw } => Message::UpdateFee(UpdateFee {
                channel_id,
                feerate_per_kw: *feerate_per_kw,
                extension: NoTlvs::default(),
            }),
        })
    }

    /// Our last `revoke_and_ack`, regenerated.
    fn last_revoke_and_ack(&mut self) -> Result<RevokeAndAck, ChannelError> {
        let revoked = self
            .holder_commitment_number
            .checked_sub(1)
            .ok_or_else(|| close("nothing was revoked"))?;
        let secret = self
            .signer
            .release_commitment_secret(revoked)
            .map_err(|e| signer_error("revocation", e))?;
        let next_point = self
            .signer
            .per_commitment_point(self.holder_commitment_number + 1)
            .map_err(|e| signer_error("per-commitment point", e))?;
        Ok(RevokeAndAck {
            channel_id: self.channel_id,
            per_commitment_secret: secret,
            next_per_commitment_point: next_point,
            extension: NoTlvs::default(),
        })
    }

    /// Our last `commitment_signed`, signed again (deterministic signatures: the same bytes).
    fn last_commitment_signed(&mut self) -> Result<CommitmentSigned, ChannelError> {
        let coverage = self.ledger.counterparty_commitment();
        Ok(self
            .sign_counterparty_commitment(self.counterparty_commitment_number, coverage)?
            .0)
    }

    /// Handles the peer's `channel_reestablish`: returns, in order, everything to send
    /// again.
    pub fn channel_reestablish(&mut self, msg: &ChannelReestablish) -> Result<Vec<Message>, ChannelError> {
        // Closed by agreement, perhaps before the peer got our last `closing_signed`:
        // send it again so the peer can finish too.
        if self.phase == ChannelPhase::Closed {
            if let Some(signed) = self.resend_closing_signed()? {
                return Ok(alloc::vec![Message::ClosingSigned(signed)]);
            }
        }
        if matches!(self.phase, ChannelPhase::Failed | ChannelPhase::Closed) {
            return Err(close("the channel is failed or closed"));
        }
        if msg.next_commitment_number == 0 {
            return Err(close("next_commitment_number is 0"));
        }
        self.check_data_loss(msg)?;
        let mut out = Vec::new();
        // channel_ready again if no commitment has moved past 0 on either side.
        let ready_sent = match self.phase {
            ChannelPhase::Normal | ChannelPhase::ShuttingDown => true,
            ChannelPhase::AwaitingChannelReady { sent, .. } => sent,
            _ => false,
        };
        if ready_sent && msg.next_commitment_number == 1 && self.holder_commitment_number == 0 {
            let point = self
                .signer
                .per_commitment_point(1)
                .map_err(|e| signer_error("per-commitment point", e))?;
            out.push(Message::ChannelReady(ChannelReady {
                channel_id: self.channel_id,
                second_per_commitment_point: point,
                tlvs: ChannelReadyTlvs::default(),
            }));
        }

        // Did the peer get our last revoke_and_ack?
        let resend_revoke = if msg.next_revocation_number.checked_add(1) == Some(self.holder_commitment_number) {
            true
        } else if msg.next_revocation_number == self.holder_commitment_number {
            false
        } else {
            return Err(close("next_revocation_number out of step"));
        };
        // Did the peer get our last commitment_signed?
        let resend_commitment =
            if self.awaiting_revoke && msg.next_commitment_number == self.counterparty_commitment_number {
                true
            } else if Some(msg.next_commitment_number) == self.counterparty_commitment_number.checked_add(1) {
                false
            } else {
                return Err(close("next_commitment_number out of step"));
            };

        // The peer reversed our updates that no commitment it received covers.
        let peer_has = if resend_commitment {
            self.ledger.counterparty_commitment_revoked_to()
        } else {
            self.ledger.counterparty_commitment()
        };
        let signed_through = self.ledger.counterparty_commitment().holder_updates;
        let updates: Vec<(u64, Update)> = self
            .ledger
            .holder_updates_from(peer_has.holder_updates)
            .map(|(i, u)| (i, u.clone()))
            .collect();
        let (in_commitment, after): (Vec<_>, Vec<_>) = updates.into_iter().partition(|(i, _)| *i < signed_through);

        let revoke = if resend_revoke {
            Some(self.last_revoke_and_ack()?)
        } else {
            None
        };
        let revoke_first = self.last_sent != Some(LastSent::RevokeAndAck);
        if revoke_first {
            out.extend(revoke.clone().map(Message::RevokeAndAck));
        }
        for (_, update) in &in_commitment {
            out.push(self.update_message(update)?);
        }
        if resend_commitment {
            out.push(Message::CommitmentSigned(self.last_commitment_signed()?));
        }
        if !revoke_first {
            out.extend(revoke.map(Message::RevokeAndAck));
        }
        for (_, update) in &after {
            out.push(self.update_message(update)?);
        }
        // A `shutdown` we sent is retransmitted on every reconnection, after the updates
        // and commitment it followed (BOLT 2).
        if let Some(script) = &self.close.holder_script {
            out.push(Message::Shutdown(Shutdown {
                channel_id: self.channel_id,
                scriptpubkey: script.clone(),
                extension: NoTlvs::default(),
            }));
        }
        self.connected = true;
        Ok(out)
    }
}
