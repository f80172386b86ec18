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
