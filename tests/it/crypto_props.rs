//! Property tests for the crypto layer. Argon2id cases use the minimum accepted
//! cost (m=19456 KiB, t=2, p=1) and few cases to keep the file fast.

use assent::crypto::b64;
use assent::crypto::{
    CryptoError, CustomerSecrets, DataKey, KdfParams, OWNER, SealedBundle, X25519Secret,
    derive_keys, dummy_verify, envelope_aad, fingerprint, generate_signing_key, hash_auth,
    open_bundle, open_payload, seal_bundle, seal_payload, sign_grant, sign_org_key, unwrap_key,
    verify_auth, verify_grant, verify_org_key, wrap_info, wrap_key,
};
use proptest::prelude::*;

fn id() -> impl Strategy<Value = String> {
    "[a-z]{3}_[a-z0-9]{1,12}"
}

fn min_cost() -> KdfParams {
    KdfParams::with_cost(19456, 2, 1).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn envelope_round_trips(
        pt in proptest::collection::vec(any::<u8>(), 0..2048),
        cus in id(), env in id(), version in any::<u64>(), label in "[a-z_]{1,20}",
    ) {
        let key = DataKey::generate();
        let aad = envelope_aad(&cus, &env, version, &label, "text/plain");
        let sealed = seal_payload(&key, &aad, &pt).unwrap();
        prop_assert_eq!(sealed.ciphertext.len(), pt.len() + 16);
        let opened = open_payload(&key, &aad, &sealed.nonce, &sealed.ciphertext).unwrap();
        prop_assert_eq!(opened.as_slice(), pt.as_slice());
    }

    #[test]
    fn envelope_tampering_fails(
        pt in proptest::collection::vec(any::<u8>(), 0..512),
        bit in any::<prop::sample::Index>(),
        version in 0u64..1000,
    ) {
        let key = DataKey::generate();
        let aad = envelope_aad("cus_a", "env_b", version, "email", "text/plain");
        let sealed = seal_payload(&key, &aad, &pt).unwrap();
        // Any flipped ciphertext (or tag) bit.
        let mut ct = sealed.ciphertext.clone();
        let i = bit.index(ct.len() * 8);
        ct[i / 8] ^= 1 << (i % 8);
        prop_assert_eq!(open_payload(&key, &aad, &sealed.nonce, &ct).unwrap_err(), CryptoError::Decrypt);
        // Wrong AAD: another version, another envelope.
        let other = envelope_aad("cus_a", "env_b", version + 1, "email", "text/plain");
        prop_assert!(open_payload(&key, &other, &sealed.nonce, &sealed.ciphertext).is_err());
        let other = envelope_aad("cus_a", "env_c", version, "email", "text/plain");
        prop_assert!(open_payload(&key, &other, &sealed.nonce, &sealed.ciphertext).is_err());
        // Another content type (wire v2: the server cannot relabel the data).
        let other = envelope_aad("cus_a", "env_b", version, "email", "text/html");
        prop_assert!(open_payload(&key, &other, &sealed.nonce, &sealed.ciphertext).is_err());
        // Wrong key.
        prop_assert!(open_payload(&DataKey::generate(), &aad, &sealed.nonce, &sealed.ciphertext).is_err());
        // Flipped nonce bit.
        let mut nonce = sealed.nonce;
        nonce[i % 24] ^= 1;
        prop_assert!(open_payload(&key, &aad, &nonce, &sealed.ciphertext).is_err());
    }

    #[test]
    fn wrap_round_trips(env in id(), version in any::<u64>(), org in id(), grant in id()) {
        let recipient = X25519Secret::generate();
        let key = DataKey::generate();
        let info = wrap_info(&env, version, &org, &grant);
        let wrap = wrap_key(&recipient.public(), &info, &key).unwrap();
        prop_assert_eq!(wrap.enc.len(), 32);
        prop_assert_eq!(wrap.ct.len(), 48);
        let json = serde_json::to_string(&wrap).unwrap();
        let back = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&wrap, &back);
        let opened = unwrap_key(&recipient, &info, &back).unwrap();
        prop_assert_eq!(opened.as_bytes(), key.as_bytes());
        let mut bad = wrap.clone();
        bad.ct[0] ^= 1;
        prop_assert_eq!(unwrap_key(&recipient, &info, &bad).unwrap_err(), CryptoError::Decrypt);
    }

    #[test]
    fn b64_round_trips_and_is_strict(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let s = b64::encode(&bytes);
        prop_assert!(!s.contains(['=', '+', '/']));
        prop_assert_eq!(b64::decode(&s).unwrap(), bytes.clone());
        if bytes.len() % 3 != 0 {
            prop_assert_eq!(b64::decode(&format!("{s}=")).unwrap_err(), CryptoError::BadBase64);
        }
        let std = s.replace('-', "+").replace('_', "/");
        if std != s {
            prop_assert_eq!(b64::decode(&std).unwrap_err(), CryptoError::BadBase64);
        }
    }
}

#[test]
fn b64_rejects_padding_standard_alphabet_and_wrong_lengths() {
    assert_eq!(b64::decode("AA==").unwrap_err(), CryptoError::BadBase64);
    assert_eq!(b64::decode("AAA=").unwrap_err(), CryptoError::BadBase64);
    assert_eq!(b64::decode("+w").unwrap_err(), CryptoError::BadBase64);
    assert_eq!(b64::decode("/w").unwrap_err(), CryptoError::BadBase64);
    assert_eq!(b64::decode("A").unwrap_err(), CryptoError::BadBase64);
    assert_eq!(b64::decode("AB").unwrap_err(), CryptoError::BadBase64); // non-canonical bits
    assert_eq!(b64::decode("-w").unwrap(), vec![0xfb]);
    assert_eq!(b64::decode("_w").unwrap(), vec![0xff]);
    assert!(matches!(
        b64::decode_array::<32>("AAAA", "key"),
        Err(CryptoError::BadLength {
            what: "key",
            expected: 32,
            got: 3
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn bundle_round_trips_and_wrong_passphrase_fails(
        pass in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let kdf = min_cost();
        let keys = derive_keys(&pass, &kdf).unwrap();
        prop_assert_ne!(&*keys.auth, &*keys.kek);
        let secrets = CustomerSecrets::generate();
        let bundle = seal_bundle(&keys.kek, kdf.clone(), &secrets).unwrap();
        let json = serde_json::to_string(&bundle).unwrap();
        let back: SealedBundle = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &bundle);

        let again = derive_keys(&pass, &back.kdf).unwrap();
        prop_assert_eq!(&*again.auth, &*keys.auth);
        let opened = open_bundle(&again.kek, &back).unwrap();
        prop_assert_eq!(opened.x25519_public(), secrets.x25519_public());
        prop_assert_eq!(opened.ed25519_public(), secrets.ed25519_public());
        prop_assert_eq!(&*opened.x25519.to_bytes(), &*secrets.x25519.to_bytes());

        let mut wrong = pass.clone();
        wrong[0] ^= 1;
        let wrong_keys = derive_keys(&wrong, &back.kdf).unwrap();
        prop_assert_ne!(&*wrong_keys.auth, &*keys.auth);
        prop_assert_eq!(open_bundle(&wrong_keys.kek, &back).unwrap_err(), CryptoError::Decrypt);
    }
}

#[test]
fn bundle_json_shape() {
    let kdf = min_cost();
    let bundle = seal_bundle(&[7u8; 32], kdf, &CustomerSecrets::generate()).unwrap();
    let v = serde_json::to_value(&bundle).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["ct", "kdf", "nonce", "v"]);
    assert_eq!(v["v"], 1);
    assert_eq!(v["kdf"]["alg"], "argon2id");
    assert_eq!(v["kdf"]["m_kib"], 19456);
    assert_eq!(
        b64::decode(v["kdf"]["salt"].as_str().unwrap())
            .unwrap()
            .len(),
        16
    );
    assert_eq!(b64::decode(v["nonce"].as_str().unwrap()).unwrap().len(), 24);
    assert_eq!(
        b64::decode(v["ct"].as_str().unwrap()).unwrap().len(),
        64 + 16
    );
    assert_eq!(KdfParams::new_default().m_kib, 65536);
}

#[test]
fn weak_or_absurd_kdf_params_are_refused() {
    let base = min_cost();
    let bad = [
        KdfParams {
            m_kib: 19455,
            ..base.clone()
        },
        KdfParams {
            t: 1,
            ..base.clone()
        },
        KdfParams {
            p: 0,
            ..base.clone()
        },
        KdfParams {
            m_kib: (1 << 20) + 1,
            ..base.clone()
        },
        KdfParams {
            t: 21,
            ..base.clone()
        },
        KdfParams {
            p: 17,
            ..base.clone()
        },
        KdfParams {
            alg: "argon2i".into(),
            ..base.clone()
        },
    ];
    let secrets = CustomerSecrets::generate();
    let good = seal_bundle(&[1u8; 32], base.clone(), &secrets).unwrap();
    for kdf in bad {
        assert!(
            matches!(
                derive_keys(b"pass", &kdf),
                Err(CryptoError::WeakKdfParams(_))
            ),
            "{kdf:?}"
        );
        let bundle = SealedBundle {
            kdf: kdf.clone(),
            ..good.clone()
        };
        assert!(matches!(
            open_bundle(&[1u8; 32], &bundle),
            Err(CryptoError::WeakKdfParams(_))
        ));
        assert!(seal_bundle(&[1u8; 32], kdf, &secrets).is_err());
    }
    assert!(KdfParams::with_cost(8192, 3, 1).is_err());
    let v2 = SealedBundle { v: 2, ..good };
    assert!(matches!(
        open_bundle(&[1u8; 32], &v2),
        Err(CryptoError::UnsupportedVersion { .. })
    ));
}

#[test]
fn login_verifier_accepts_right_auth_only() {
    let auth = [0x42u8; 32];
    let phc = hash_auth(&auth).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(verify_auth(&auth, &phc));
    assert!(!verify_auth(&[0x43u8; 32], &phc));
    assert!(!verify_auth(&auth[..31], &phc));
    assert!(!verify_auth(&auth, "not a phc string"));
    assert_ne!(hash_auth(&auth).unwrap(), phc, "fresh salt each time");
    assert!(!verify_auth(&auth, &phc.replace("argon2id", "argon2i")));
    let t = std::time::Instant::now();
    dummy_verify(&auth);
    assert!(
        t.elapsed() > std::time::Duration::from_millis(1),
        "dummy_verify does real work"
    );
}

#[test]
fn low_order_recipient_key_is_refused() {
    let info = wrap_info("env_a", 1, "org_a", OWNER);
    assert_eq!(
        wrap_key(&[0u8; 32], &info, &DataKey::generate()).unwrap_err(),
        CryptoError::BadKey
    );
}

#[test]
fn fingerprint_format() {
    let fp = fingerprint(&[0u8; 32]);
    // SHA-256 of 32 zero bytes starts 66687aadf862bd776c8fc18b8e9f8e20.
    assert_eq!(fp, "6668 7aad f862 bd77 6c8f c18b 8e9f 8e20");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn signatures_round_trip(
        grant_id in id(), labels in proptest::collection::vec("[a-z_]{1,12}", 1..4),
        max_reads in proptest::option::of(any::<u32>()), x in any::<[u8; 32]>(),
    ) {
        let key = generate_signing_key();
        let public = key.verifying_key().to_bytes();
        let grant = serde_json::json!({"grant_id": grant_id, "labels": labels, "max_reads": max_reads});
        let sig = sign_grant(&key, &grant).unwrap();
        prop_assert!(verify_grant(&public, &grant, &sig).is_ok());
        let other = generate_signing_key().verifying_key().to_bytes();
        prop_assert_eq!(verify_grant(&other, &grant, &sig).unwrap_err(), CryptoError::BadSignature);
        let mut changed = grant.clone();
        changed["grant_id"] = serde_json::Value::from(format!("{grant_id}x"));
        prop_assert!(verify_grant(&public, &changed, &sig).is_err());

        let org_sig = sign_org_key(&key, &x);
        prop_assert!(verify_org_key(&public, &x, &org_sig).is_ok());
        let mut y = x;
        y[31] ^= 1;
        prop_assert!(verify_org_key(&public, &y, &org_sig).is_err());
        // A grant signature is not an org-key signature (domain separation).
        prop_assert!(verify_org_key(&public, &x, &sig).is_err());
    }
}
