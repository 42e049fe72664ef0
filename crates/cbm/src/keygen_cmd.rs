//! `cbm keygen`: a signatory's two key pairs, secret files 0600 beside
//! their public files.

use std::process::ExitCode;

use anyhow::{Context, Result};
use cbm_wire::{PublicKey, SigningKey};

use crate::keys;

/// Makes `id`'s signing and transport keys in `dir`, refusing to
/// overwrite any key file.
pub(crate) fn keygen(id: &cbm_wire::SignatoryId, dir: &std::path::Path, json: bool) -> Result<ExitCode> {
    use keys::KeyRole;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let paths = |role: KeyRole| {
        let (secret, public) = role.file_names(id);
        (dir.join(secret), dir.join(public))
    };
    let (signing_path, signing_pub) = paths(KeyRole::Signing);
    let (transport_path, transport_pub) = paths(KeyRole::Transport);
    for path in [&signing_path, &transport_path, &signing_pub, &transport_pub] {
        if path.exists() {
            anyhow::bail!("{} already exists; refusing to overwrite a key", path.display());
        }
    }
    let signing = SigningKey::generate(&mut rand_core::OsRng);
    let transport = SigningKey::generate(&mut rand_core::OsRng);
    keys::write_key(&signing_path, &signing)?;
    keys::write_key(&transport_path, &transport)?;
    let (signing_public, transport_public) = (PublicKey::of(&signing), PublicKey::of(&transport));
    keys::write_public(&signing_pub, KeyRole::Signing, id, &signing_public)?;
    keys::write_public(&transport_pub, KeyRole::Transport, id, &transport_public)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "id": id.to_string(),
                "signing_key": signing_public.to_string(),
                "transport_key": transport_public.to_string(),
                "files": [signing_path, transport_path],
                "public_files": [signing_pub, transport_pub],
            })
        );
    } else {
        println!("signing key    {signing_public}  ({}; public: {})", signing_path.display(), signing_pub.display());
        println!(
            "transport key  {transport_public}  ({}; public: {})",
            transport_path.display(),
            transport_pub.display()
        );
        println!("hand the other states the .pub files; keep the .key files to yourself");
    }
    Ok(ExitCode::SUCCESS)
}
