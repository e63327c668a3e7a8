//! The analyst's identity, recipients, and the keys derived from the identity.
//!
//! The identity is an age X25519 key. On disk it lives only inside
//! `VAULT/identity.age`, a standard age file encrypted with the analyst's
//! passphrase (scrypt recipient) whose plaintext is a standard age identity
//! file, so `age -d identity.age > key.txt; age -d -i key.txt FILE` works as
//! an independent check (and as a way out of baram).

use crate::Error;
use crate::fsx;
use age::secrecy::{ExposeSecret, SecretString};
use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;
use zeroize::Zeroizing;

/// The public half, as the `age1…` string.
pub type RecipientString = String;

/// Context string of the key that hashes plaintext hashes for deduplication.
const DEDUPE_CONTEXT: &str = "baram vault 2025 dedupe key v1";
/// Context of recipient fingerprints in bundle.json.
const FINGERPRINT_CONTEXT: &str = "baram vault 2025 recipient fingerprint v1";

/// An unlocked identity: the X25519 secret and the keys derived from it.
/// Lives only in memory; its secrets are zeroized on drop.
pub struct Keys {
    identity: age::x25519::Identity,
    dedupe_key: Zeroizing<[u8; 32]>,
}

impl Keys {
    pub(crate) fn from_identity(identity: age::x25519::Identity) -> Keys {
        let secret = identity.to_string();
        let dedupe_key = Zeroizing::new(blake3::derive_key(
            DEDUPE_CONTEXT,
            secret.expose_secret().as_bytes(),
        ));
        Keys {
            identity,
            dedupe_key,
        }
    }

    pub fn identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    pub fn recipient(&self) -> age::x25519::Recipient {
        self.identity.to_public()
    }

    /// The catalog's name for a plaintext: BLAKE3 keyed with a key derived
    /// from the identity, over the plaintext's BLAKE3. Without the identity it
    /// cannot be computed, so the catalog does not tell which known file a
    /// vault holds.
    pub fn keyed_hash(&self, plain_blake3: &blake3::Hash) -> String {
        blake3::keyed_hash(&self.dedupe_key, plain_blake3.as_bytes())
            .to_hex()
            .to_string()
    }

    /// The secret key as an age identity file's text (`AGE-SECRET-KEY-1…`).
    /// For tests that hand it to the independent `age` tool; never printed.
    pub fn identity_file_text(&self) -> SecretString {
        identity_file_text(&self.identity)
    }
}

fn identity_file_text(id: &age::x25519::Identity) -> SecretString {
    SecretString::from(format!(
        "# baram vault identity\n# public key: {}\n{}\n",
        id.to_public(),
        id.to_string().expose_secret()
    ))
}

/// A short public fingerprint of a recipient, for bundle.json: 16 bytes of a
/// BLAKE3 key derivation, hex. It names which analyst key a bundle is for
/// without spelling out the recipient.
pub fn fingerprint(r: &age::x25519::Recipient) -> String {
    let k = blake3::derive_key(FINGERPRINT_CONTEXT, r.to_string().as_bytes());
    fsx::hex(&k[..16])
}

/// Parses an `age1…` recipient. A secret key given by mistake is refused
/// without echoing it.
pub fn parse_recipient(s: &str) -> Result<age::x25519::Recipient, Error> {
    let s = s.trim();
    if s.to_ascii_uppercase().starts_with("AGE-SECRET-KEY-") {
        return Err(Error::Invalid(
            "that is a secret key, not a recipient: never put the secret key on an intake machine; pass the age1… recipient that `baram vault keygen` printed".into(),
        ));
    }
    age::x25519::Recipient::from_str(s).map_err(|_| {
        Error::Invalid(format!(
            "{:?} is not an age X25519 recipient (it starts with age1; `baram vault keygen` prints it)",
            s.chars().take(80).collect::<String>()
        ))
    })
}

/// Reads recipients from a file: one per line, `#` comments and blank lines
/// ignored.
pub fn read_recipients_file(path: &Path) -> Result<Vec<age::x25519::Recipient>, Error> {
    let text = std::fs::read_to_string(path).map_err(crate::io_err(path))?;
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        out.push(
            parse_recipient(l).map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?,
        );
    }
    if out.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no recipient in it",
            path.display()
        )));
    }
    Ok(out)
}

/// Encrypts a new identity with a passphrase. `log_n` overrides age's
/// calibrated scrypt work factor (about one second); tests use a small one.
pub(crate) fn seal_identity(
    id: &age::x25519::Identity,
    passphrase: &SecretString,
    log_n: Option<u8>,
) -> Result<Vec<u8>, Error> {
    let mut r = age::scrypt::Recipient::new(passphrase.clone());
    if let Some(n) = log_n {
        if !(1..=30).contains(&n) {
            return Err(Error::Invalid(format!(
                "scrypt work factor {n}: must be between 1 and 30"
            )));
        }
        r.set_work_factor(n);
    }
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| Error::Crypto(e.to_string()))?;
    let mut out = Vec::new();
    let mut w = enc
        .wrap_output(&mut out)
        .map_err(|e| Error::Crypto(e.to_string()))?;
    let text = identity_file_text(id);
    w.write_all(text.expose_secret().as_bytes())
        .and_then(|_| w.finish().map(|_| ()))
        .map_err(|e| Error::Crypto(e.to_string()))?;
    Ok(out)
}

/// Decrypts an identity file's bytes with the passphrase.
pub(crate) fn open_identity(
    path: &Path,
    sealed: &[u8],
    passphrase: &SecretString,
) -> Result<age::x25519::Identity, Error> {
    let bad = |why: &str| Error::Invalid(format!("{}: {why}", path.display()));
    let dec = age::Decryptor::new_buffered(sealed)
        .map_err(|_| bad("not an age file; the vault's identity file is damaged"))?;
    if !dec.is_scrypt() {
        return Err(bad(
            "not protected by a passphrase; the vault's identity file is damaged",
        ));
    }
    let mut idn = age::scrypt::Identity::new(passphrase.clone());
    // Accept the work factors keygen may have chosen, up to a bound.
    idn.set_max_work_factor(24);
    let mut r = match dec.decrypt(std::iter::once(&idn as &dyn age::Identity)) {
        Ok(r) => r,
        Err(age::DecryptError::DecryptionFailed) | Err(age::DecryptError::NoMatchingKeys) => {
            return Err(Error::WrongPassphrase(path.to_path_buf()));
        }
        Err(e) => return Err(bad(&format!("cannot be decrypted: {e}"))),
    };
    let mut text = Zeroizing::new(String::new());
    r.read_to_string(&mut text)
        .map_err(|_| Error::WrongPassphrase(path.to_path_buf()))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .ok_or_else(|| bad("holds no age secret key; the identity file is damaged"))?;
    age::x25519::Identity::from_str(line)
        .map_err(|_| bad("holds a malformed secret key; the identity file is damaged"))
}
