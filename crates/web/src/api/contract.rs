//! The answers every operation can give because of how it is called, added to the
//! OpenAPI document so that it lists every status a route can answer (schemathesis checks
//! this in CI): 401 without a valid session, 404 for a path id that does not exist (or
//! that the caller may not see), 400/413/415/422 for a malformed body, 422 for a
//! malformed query string. Each operation's own entry documents the rest (403, 409…).

use utoipa::openapi::link::LinkBuilder;
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

/// Links each creating operation (`POST /things`) to the operations on the record it made
/// (`/things/{id}` and the actions below it, every method), passing the new `id` from the answer. The
/// stateful phase of schemathesis follows these links: create, then read, change and
/// delete what was created. Only answers whose schema has an `id` get links.
pub fn document_links(doc: &mut OpenApi) {
    let schemas_with_id: std::collections::BTreeSet<String> = doc
        .components
        .as_ref()
        .map(|c| {
            c.schemas
                .iter()
                .filter(|(_, s)| has_id(s, &c.schemas, 0))
                .map(|(name, _)| format!("#/components/schemas/{name}"))
                .collect()
        })
        .unwrap_or_default();
    // (path, operation id, the path parameter the id goes into) of every operation on a record.
    let mut targets: Vec<(String, String, String)> = Vec::new();
    for (path, item) in &doc.paths.paths {
        // Paths with one parameter: `/things/{id}` and the actions below it.
        let Some(open) = path.find("/{") else { continue };
        let Some(close) = path[open..].find('}').map(|c| open + c) else { continue };
        if path[close..].contains('{') {
            continue;
        }
        let param = path[open + 2..close].to_string();
        for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
            if let Some(id) = op.operation_id.clone() {
                targets.push((path[..open].to_string(), id, param.clone()));
            }
        }
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let Some(post) = item.post.as_mut() else { continue };
        for (status, answer) in post.responses.responses.iter_mut() {
            let RefOr::T(answer) = answer else { continue };
            if !status.starts_with('2') || !answer_has_id(answer, &schemas_with_id) {
                continue;
            }
            for (collection, id, param) in &targets {
                if collection == path {
                    let link = LinkBuilder::new()
                        .operation_id(id.clone())
                        .parameter(param.clone(), "$response.body#/id")
                        .description("The record this call created.")
                        .build();
                    answer.links.insert(id.clone(), RefOr::T(link));
                }
            }
        }
    }
}

/// Whether a schema is an object with an `id` property, directly or through `allOf`
/// (a flattened summary) or a reference.
fn has_id(
    schema: &RefOr<utoipa::openapi::Schema>,
    all: &std::collections::BTreeMap<String, RefOr<utoipa::openapi::Schema>>,
    depth: usize,
) -> bool {
    use utoipa::openapi::Schema;
    if depth > 4 {
        return false;
    }
    match schema {
        RefOr::T(Schema::Object(o)) => o.properties.contains_key("id"),
        RefOr::T(Schema::AllOf(a)) => a.items.iter().any(|i| has_id(i, all, depth + 1)),
        RefOr::Ref(r) => r
            .ref_location
            .strip_prefix("#/components/schemas/")
            .and_then(|name| all.get(name))
            .is_some_and(|s| has_id(s, all, depth + 1)),
        _ => false,
    }
}

fn answer_has_id(answer: &utoipa::openapi::Response, schemas_with_id: &std::collections::BTreeSet<String>) -> bool {
    let schema = match answer.content.get("application/json") {
        Some(RefOr::T(c)) => c.schema.as_ref(),
        _ => None,
    };
    schema.is_some_and(|s| match s {
        RefOr::Ref(r) => schemas_with_id.contains(&r.ref_location),
        RefOr::T(_) => false,
    })
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
    fn creating_operations_link_to_the_record_they_made() {
        let doc = serde_json::to_value(super::super::openapi()).unwrap();
        let links = &doc["paths"]["/api/v1/patients"]["post"]["responses"]["201"]["links"];
        let get = links.as_object().unwrap().values().find(|l| {
            let id = l["operationId"].as_str().unwrap();
            doc["paths"]["/api/v1/patients/{id}"]["get"]["operationId"] == id
        });
        assert_eq!(get.unwrap()["parameters"]["id"], "$response.body#/id", "{links}");
        // An answer whose id comes from a flattened summary (allOf) is linked too.
        let invoice = &doc["paths"]["/api/v1/invoices"]["post"]["responses"]["201"]["links"];
        let issue = doc["paths"]["/api/v1/invoices/{id}/issue"]["post"]["operationId"].as_str().unwrap();
        assert_eq!(invoice[issue]["parameters"]["id"], "$response.body#/id", "{invoice}");
        // Every link names an operation that exists.
        let ids: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|i| i.as_object().unwrap().values())
            .filter_map(|o| o["operationId"].as_str())
            .collect();
        let mut n = 0;
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for answer in op["responses"].as_object().unwrap().values() {
                    for l in answer["links"].as_object().into_iter().flat_map(|m| m.values()) {
                        assert!(ids.contains(&l["operationId"].as_str().unwrap()), "{l}");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 40, "{n} links");
    }

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
