//! BOLT 3 key derivation: the per-commitment keys derived from each side's basepoints and
//! the per-commitment point, and their private counterparts.
//!
//! Every derivation hashes peer-supplied points, so each returns a `Result`: a tweak at or
//! above the curve order, or a sum at infinity, has negligible probability but must never
//! panic on input a peer chose.

use core::fmt;

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, Verification};

/// A derivation produced an invalid scalar or the point at infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyDerivationError;

impl fmt::Display for KeyDerivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("key derivation produced an invalid key")
    }
}

fn sha256_points(first: &PublicKey, second: &PublicKey) -> Result<Scalar, KeyDerivationError> {
    let mut engine = sha256::Hash::engine();
    engine.input(&first.serialize());
    engine.input(&second.serialize());
    Scalar::from_be_bytes(sha256::Hash::from_engine(engine).to_byte_array()).map_err(|_| KeyDerivationError)
}

/// `basepoint + SHA256(per_commitment_point || basepoint) * G`: `localpubkey`,
/// `local_htlcpubkey`, `remote_htlcpubkey`, `local_delayedpubkey`, `remote_delayedpubkey`.
pub fn derive_public_key<C: Verification>(
    secp: &Secp256k1<C>,
    per_commitment_point: &PublicKey,
    basepoint: &PublicKey,
) -> Result<PublicKey, KeyDerivationError> {
    let tweak = sha256_points(per_commitment_point, basepoint)?;
    basepoint.add_exp_tweak(secp, &tweak).map_err(|_| KeyDerivationError)
}

/// `basepoint_secret + SHA256(per_commitment_point || basepoint)`.
pub fn derive_private_key<C: Signing>(
    secp: &Secp256k1<C>,
    per_commitment_point: &PublicKey,
    basepoint_secret: &SecretKey,
) -> Result<SecretKey, KeyDerivationError> {
    let basepoint = PublicKey::from_secret_key(secp, basepoint_secret);
    let tweak = sha256_points(per_commitment_point, &basepoint)?;
    basepoint_secret.add_tweak(&tweak).map_err(|_| KeyDerivationError)
}

/// [`derive_private_key`] when the basepoint is already known, saving the point
/// multiplication that recomputes it.
pub fn derive_private_key_from_basepoint(
    per_commitment_point: &PublicKey,
    basepoint: &PublicKey,
    basepoint_secret: &SecretKey,
) -> Result<SecretKey, KeyDerivationError> {
    let tweak = sha256_points(per_commitment_point, basepoint)?;
    basepoint_secret.add_tweak(&tweak).map_err(|_| KeyDerivationError)
}

/// `revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point)
///  + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)`.
pub fn derive_revocation_public_key<C: Verification>(
    secp: &Secp256k1<C>,
    per_commitment_point: &PublicKey,
    revocation_basepoint: &PublicKey,
) -> Result<PublicKey, KeyDerivationError> {
    let basepoint_tweak = sha256_points(revocation_basepoint, per_commitment_point)?;
    let point_tweak = sha256_points(per_commitment_point, revocation_basepoint)?;
    let from_basepoint = revocation_basepoint
        .mul_tweak(secp, &basepoint_tweak)
        .map_err(|_| KeyDerivationError)?;
    let from_point = per_commitment_point
        .mul_tweak(secp, &point_tweak)
        .map_err(|_| KeyDerivationError)?;
    from_basepoint.combine(&from_point).map_err(|_| KeyDerivationError)
}

/// The secret behind one of the two points of a revocation key, when it is ours.
#[derive(Clone, Copy)]
pub enum KnownRevocationSecret<'a> {
    /// Our revocation basepoint's secret: the key is for the counterparty's commitment.
    RevocationBasepoint(&'a SecretKey),
    /// Our per-commitment secret: the key is for our own, not yet revoked, commitment.
    PerCommitment(&'a SecretKey),
}

/// [`derive_revocation_public_key`] when one of the two secrets is ours: that half is a
/// scalar product and one constant-time multiplication of the generator, which costs
/// about half the variable-base multiplication it replaces. The result is the same point.
pub fn derive_revocation_public_key_with_secret<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    per_commitment_point: &PublicKey,
    revocation_basepoint: &PublicKey,
    known: KnownRevocationSecret<'_>,
) -> Result<PublicKey, KeyDerivationError> {
    let basepoint_tweak = sha256_points(revocation_basepoint, per_commitment_point)?;
    let point_tweak = sha256_points(per_commitment_point, revocation_basepoint)?;
    let (secret, secret_tweak, other_point, other_tweak) = match known {
        KnownRevocationSecret::RevocationBasepoint(secret) => {
            (secret, basepoint_tweak, per_commitment_point, point_tweak)
        }
        KnownRevocationSecret::PerCommitment(secret) => (secret, point_tweak, revocation_basepoint, basepoint_tweak),
    };
    let from_secret = secret.mul_tweak(&secret_tweak).map_err(|_| KeyDerivationError)?;
    let from_other = other_point
        .mul_tweak(secp, &other_tweak)
        .map_err(|_| KeyDerivationError)?;
    PublicKey::from_secret_key(secp, &from_secret)
        .combine(&from_other)
        .map_err(|_| KeyDerivationError)
}

/// The revocation private key, once the per-commitment secret is known:
/// `revocation_basepoint_secret * SHA256(revocation_basepoint || per_commitment_point)
///  + per_commitment_secret * SHA256(per_commitment_point || revocation_basepoint)`.
pub fn derive_revocation_private_key<C: Signing>(
    secp: &Secp256k1<C>,
    per_commitment_secret: &SecretKey,
    revocation_basepoint_secret: &SecretKey,
) -> Result<SecretKey, KeyDerivationError> {
    let revocation_basepoint = PublicKey::from_secret_key(secp, revocation_basepoint_secret);
    let per_commitment_point = PublicKey::from_secret_key(secp, per_commitment_secret);
    let basepoint_tweak = sha256_points(&revocation_basepoint, &per_commitment_point)?;
    let point_tweak = sha256_points(&per_commitment_point, &revocation_basepoint)?;
    let from_basepoint = revocation_basepoint_secret
        .mul_tweak(&basepoint_tweak)
        .map_err(|_| KeyDerivationError)?;
    let from_point = per_commitment_secret
        .mul_tweak(&point_tweak)
        .map_err(|_| KeyDerivationError)?;
    from_basepoint
        .add_tweak(&Scalar::from(from_point))
        .map_err(|_| KeyDerivationError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(bytes: [u8; 32]) -> Option<SecretKey> {
        SecretKey::from_slice(&bytes).ok()
    }

    proptest! {
        /// Whichever secret the signer holds, the revocation key is the one derived from
        /// the two points, and the private key derived once both secrets are known.
        #[test]
        fn revocation_keys_agree_however_derived(base in any::<[u8; 32]>(), point in any::<[u8; 32]>()) {
            let (Some(base_secret), Some(point_secret)) = (key(base), key(point)) else {
                return Ok(());
            };
            let secp = Secp256k1::new();
            let base_point = PublicKey::from_secret_key(&secp, &base_secret);
            let per_commitment_point = PublicKey::from_secret_key(&secp, &point_secret);
            let from_points = derive_revocation_public_key(&secp, &per_commitment_point, &base_point);
            for known in [
                KnownRevocationSecret::RevocationBasepoint(&base_secret),
                KnownRevocationSecret::PerCommitment(&point_secret),
            ] {
                let with_secret = derive_revocation_public_key_with_secret(&secp, &per_commitment_point, &base_point, known);
                prop_assert_eq!(with_secret, from_points);
            }
            let private = derive_revocation_private_key(&secp, &point_secret, &base_secret).expect("derives");
            prop_assert_eq!(Ok(PublicKey::from_secret_key(&secp, &private)), from_points);
        }
    }
}
