//! The OpenAPI document served at `/openapi.json` comes from the route list of `src/http.rs`
//! (`api_routes`), with the error responses each kind of input can produce.

use serde_json::Value;
use std::collections::BTreeSet;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

fn document() -> Value {
    let tv = crate::common::start();
    let res = reqwest::blocking::get(format!("{}/openapi.json", tv.url)).unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    serde_json::from_str(&res.text().unwrap()).expect("/openapi.json parses as JSON")
}

pub fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

#[test]
fn the_served_document_is_the_route_lists_document() {
    let doc = document();
    let version = doc["openapi"].as_str().expect("an `openapi` version");
    assert!(
        version.starts_with("3."),
        "OpenAPI 3 expected, got {version}"
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    // Router and document come from one list (`http::api_routes`): what is served is it.
    let built = serde_json::to_value(assent::http::openapi::spec()).unwrap();
    assert_eq!(doc, built);
    assert!(operations(&doc).len() >= 40, "{:?}", doc["paths"]);
}

#[test]
fn each_operation_documents_the_errors_its_inputs_can_cause() {
    let doc = document();
    let schemes = &doc["components"]["securitySchemes"];
    for name in ["customer_token", "org_token", "admin_token"] {
        assert_eq!(schemes[name]["type"], "http", "{name}");
        assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
        assert_eq!(schemes[name]["bearerFormat"], "JWT", "{name}");
    }
    let mut ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let what = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().unwrap_or_default().to_owned()),
            "{what}: missing or duplicate operationId"
        );
        let responses = op["responses"].as_object().expect("responses");
        let has = |status: &str| responses.contains_key(status);
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no success response"
        );
        let security: Vec<String> = op["security"]
            .as_array()
            .map(|a| {
                a.iter()
                    .flat_map(|req| req.as_object().unwrap().keys().cloned())
                    .collect()
            })
            .unwrap_or_default();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let body = op.get("requestBody").is_some();

        // Who may call it, by the route table's layout.
        let expected_scheme = if path == "/v1/me" || path.starts_with("/v1/me/") {
            Some("customer_token")
        } else if path.starts_with("/v1/org/") {
            Some("org_token")
        } else if path.starts_with("/v1/admin/") {
            Some("admin_token")
        } else {
            None
        };
        assert_eq!(
            security,
            expected_scheme
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>(),
            "{what}: security"
        );
        if !security.is_empty() {
            assert!(
                has("401"),
                "{what}: a token is needed but 401 is not documented"
            );
        }
        if body {
            for status in ["400", "413", "415"] {
                assert!(
                    has(status),
                    "{what}: takes a body but {status} is not documented"
                );
            }
        }
        if !params.is_empty() {
            assert!(
                has("400"),
                "{what}: takes parameters but 400 is not documented"
            );
        }
        if params.iter().any(|p| p["in"] == "path") {
            assert!(
                has("404"),
                "{what}: has a path parameter but 404 is not documented"
            );
        }
        // Every operation that takes any input (a token, a parameter, a body) can refuse it.
        if !security.is_empty() || !params.is_empty() || body {
            assert!(
                responses.keys().any(|s| s.starts_with('4')),
                "{what}: no 4xx response"
            );
        }
        // Every error is the one error body.
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{what} {status}: not an ErrorBody"
                );
            }
        }
    }
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
}

#[test]
fn wire_forms_come_from_the_code() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let label = schemas["Label"]["pattern"].as_str().unwrap();
    for (l, _) in assent::domain::catalog::LABELS {
        assert!(
            label.contains(&format!("|{l}|")) || label.contains(&format!("(?:{l}|")),
            "{l}"
        );
    }
    let purposes: Vec<&str> = schemas["Purpose"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let catalog: Vec<&str> = assent::domain::catalog::PURPOSES
        .iter()
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(purposes, catalog);
    assert_eq!(
        schemas["CustomerId"]["pattern"],
        format!(
            "^{}[a-z0-9_-]{{1,64}}$",
            assent::domain::ids::CustomerId::PREFIX
        )
    );
}

/// An `allOf` branch (a flattened field) that refuses unknown fields would refuse the other
/// branches' fields: no answer could match (schemathesis caught this on `GET /v1/me/grants`).
#[test]
fn flattened_branches_do_not_refuse_each_others_fields() {
    fn walk(v: &Value, at: &str, bad: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::Array(branches)) = o.get("allOf") {
                    for b in branches {
                        let closed = b["additionalProperties"] == Value::Bool(false);
                        let by_ref = b["$ref"].as_str().is_some_and(|r| {
                            let name = r.trim_start_matches("#/components/schemas/");
                            DOC.with(|d| {
                                d["components"]["schemas"][name]["additionalProperties"]
                                    == Value::Bool(false)
                            })
                        });
                        if closed || by_ref {
                            bad.push(at.to_owned());
                        }
                    }
                }
                for (k, c) in o {
                    walk(c, &format!("{at}/{k}"), bad);
                }
            }
            Value::Array(a) => a.iter().for_each(|c| walk(c, at, bad)),
            _ => {}
        }
    }
    thread_local! {
        static DOC: Value = serde_json::to_value(assent::http::openapi::spec()).unwrap();
    }
    let mut bad = Vec::new();
    DOC.with(|d| walk(d, "", &mut bad));
    assert!(bad.is_empty(), "closed allOf branches at {bad:?}");
    // The grant is still closed where it is a body of its own.
    DOC.with(|d| {
        assert_eq!(
            d["components"]["schemas"]["GrantTerms"]["additionalProperties"],
            Value::Bool(false)
        )
    });
}
