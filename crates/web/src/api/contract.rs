//! The answers every operation can give because of how it is called, added to the
//! OpenAPI document so that it lists every status a route can answer (schemathesis checks
//! this in CI): 401 without a valid session, 404 for a path id that does not exist (or
//! that the caller may not see), 400/413/415/422 for a malformed body, 422 for a
//! malformed query string. Each operation's own entry documents the rest (403, 409…).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Adds the common answers to every operation that can give them, keeping any an
/// operation documents itself.
pub fn document_common_answers(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let shared = item.parameters.clone().unwrap_or_default();
        for op in
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            complete(op, &shared);
        }
    }
}

fn complete(op: &mut Operation, shared: &[RefOr<utoipa::openapi::path::Parameter>]) {
    let params: Vec<ParameterIn> = shared
        .iter()
        .chain(op.parameters.iter().flatten())
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has = |place: ParameterIn| params.iter().any(|p| *p == place);
    let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut add = |status: &str, why: &str| {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(why));
    };
    if authenticated {
        add("401", "Not logged in, or the session has ended: log in again.");
    }
    if has(ParameterIn::Path) {
        add("404", "Nothing with this id (or nothing the caller may see).");
    }
    if has(ParameterIn::Query) {
        add("422", "A query parameter is missing or malformed; `errors[]` names it.");
    }
    if op.request_body.is_some() {
        add("400", "The body is not valid JSON.");
        add("413", "The body is larger than allowed.");
        add("415", "The body is not sent as JSON (Content-Type).");
        add("422", "A field of the body is missing or wrong; `errors[]` names each one.");
    }
}

/// A problem+json answer.
fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", content).build())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn every_operation_documents_the_answers_its_shape_allows() {
        let doc = super::super::openapi();
        let json = serde_json::to_value(&doc).unwrap();
        for (path, item) in json["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
                assert!(!secured || responses.contains_key("401"), "{method} {path} documents 401");
                if path.contains('{') {
                    assert!(responses.contains_key("404"), "{method} {path} documents 404");
                }
                if op.get("requestBody").is_some() {
                    for s in ["400", "413", "415", "422"] {
                        assert!(responses.contains_key(s), "{method} {path} documents {s}");
                    }
                }
            }
        }
    }
}
