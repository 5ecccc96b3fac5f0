//! Secrets at rest: device API keys and OAuth client secrets are stored only
//! as SHA-256 digests and compared in constant time (`subtle`).
//!
//! Both are high-entropy random strings minted by the provisioning step, so a
//! fast hash is the right tool (a password KDF protects low-entropy human
//! passwords; it adds nothing against a 128-bit random key).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes `secret`.
    pub fn of(secret: &str) -> SecretHash {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether `candidate` hashes to this digest, in constant time.
    pub fn matches(&self, candidate: &str) -> bool {
        let other = SecretHash::of(candidate);
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets, even hashed.
        f.write_str("SecretHash(…)")
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_only_their_secret() {
        let h = SecretHash::of("sk_live_abc");
        assert!(h.matches("sk_live_abc"));
        assert!(!h.matches("sk_live_abd"));
        assert!(!h.matches(""));
        assert_eq!(format!("{h:?}"), "SecretHash(…)");
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(
            hex(&SecretHash::of("abc").0),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
