//! Members' passwords: Argon2id with the `argon2` crate's recommended
//! parameters, stored as PHC strings. Hashing is slow on purpose: callers on
//! the async runtime run these in `spawn_blocking`.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub const MIN_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing one is cheap.
pub const MAX_CHARS: usize = 1024;

/// A new password's rule, as a sentence for the person choosing it.
pub fn check_new(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(format!("the password must have at least {MIN_CHARS} characters (it has {chars})"));
    }
    if chars > MAX_CHARS {
        return Err(format!("the password must have at most {MAX_CHARS} characters"));
    }
    Ok(())
}

/// The PHC string of a new password, with a random salt.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    Ok(Argon2::default().hash_password(password.as_bytes())?.to_string())
}

/// Hashed once: an unknown email is checked against it, so that it takes as
/// long as a known one with a wrong password.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let random = crate::ids::new_secret("dummy", 16);
    hash(&random).expect("hashing a random password with the default parameters")
});

/// Whether `password` matches `stored`; without a stored hash (no such
/// member, or no password set) it is checked against a dummy and fails.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (phc, known) = match stored {
        Some(stored) => (stored, true),
        None => (DUMMY.as_str(), false),
    };
    let matches = match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(err) => {
            tracing::error!(%err, "a stored password hash does not parse");
            false
        }
    };
    known && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("correct horse batterY", Some(&stored)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("anything", Some("not a phc string")));
    }

    #[test]
    fn the_dummy_an_unknown_email_is_checked_against_costs_what_a_real_hash_does() {
        let (dummy, real) = (PasswordHash::new(&DUMMY).unwrap(), hash("correct horse battery").unwrap());
        let real = PasswordHash::new(&real).unwrap();
        assert_eq!(
            (dummy.algorithm, dummy.version, dummy.params.to_string()),
            (real.algorithm, real.version, real.params.to_string())
        );
    }

    #[test]
    fn new_passwords_have_ten_characters_at_least() {
        assert!(check_new("123456789").unwrap_err().contains("at least 10"));
        assert!(check_new("ééééééééé").is_err());
        assert!(check_new("1234567890").is_ok());
        assert!(check_new(&"x".repeat(MAX_CHARS + 1)).is_err());
    }
}
