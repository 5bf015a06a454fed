//! Searchset Bundles: the page of matches, the total, and links to the first, previous,
//! next and last pages of the same search.

use crate::search::Params;
use serde::Serialize;
use serde_json::{Value, json};

/// A page of search results as a `Bundle`. `base` is the server's FHIR base
/// (`https://clinic.example/fhir/r4`); each resource must have `resourceType` and `id`.
pub fn searchset(base: &str, params: &Params, total: i64, resources: Vec<Value>) -> Value {
    let entries = resources.into_iter().map(|r| (r["id"].as_str().unwrap_or("").to_string(), r));
    serde_json::to_value(searchset_of(base, params, total, entries)).unwrap_or(Value::Null)
}

/// [`searchset`] over resources of any serializable shape, given with their ids, so a
/// large page is written out without a JSON tree in between.
pub fn searchset_of<T: Serialize>(
    base: &str,
    params: &Params,
    total: i64,
    entries: impl IntoIterator<Item = (String, T)>,
) -> Searchset<T> {
    let kind = params.resource().as_str();
    Searchset {
        resource_type: "Bundle",
        kind: "searchset",
        total,
        link: links(base, params, total),
        entry: entries
            .into_iter()
            .map(|(id, resource)| Entry {
                full_url: format!("{base}/{kind}/{id}"),
                resource,
                search: Search { mode: "match" },
            })
            .collect(),
    }
}

/// A searchset Bundle.
#[derive(Serialize)]
pub struct Searchset<T> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    total: i64,
    link: Vec<Value>,
    // FHIR forbids empty arrays: an empty page has no `entry`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<T>>,
}

#[derive(Serialize)]
struct Entry<T> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: T,
    search: Search,
}

#[derive(Serialize)]
struct Search {
    mode: &'static str,
}

fn links(base: &str, params: &Params, total: i64) -> Vec<Value> {
    let paging = params.paging();
    let url = |page: i64| format!("{base}/{}?{}", params.resource().as_str(), params.query_for_page(page));
    let last = ((total + paging.count - 1) / paging.count.max(1)).max(1);
    let mut link =
        vec![json!({"relation": "self", "url": url(paging.page)}), json!({"relation": "first", "url": url(1)})];
    if paging.page > 1 {
        link.push(json!({"relation": "previous", "url": url((paging.page - 1).min(last))}));
    }
    if paging.page < last {
        link.push(json!({"relation": "next", "url": url(paging.page + 1)}));
    }
    link.push(json!({"relation": "last", "url": url(last)}));
    link
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResourceType;

    fn relations(b: &Value) -> Vec<(String, String)> {
        b["link"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["relation"].as_str().unwrap().to_string(), l["url"].as_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn a_middle_page_links_every_way_and_the_last_has_no_next() {
        let p = Params::parse(ResourceType::Location, "name=north&_count=2&_page=2").unwrap();
        let b = searchset("http://h/fhir/r4", &p, 5, vec![json!({"resourceType": "Location", "id": "a"})]);
        let rel = relations(&b);
        let names: Vec<&str> = rel.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(names, ["self", "first", "previous", "next", "last"]);
        assert_eq!(rel[3].1, "http://h/fhir/r4/Location?name=north&_count=2&_page=3");
        assert_eq!(rel[4].1, "http://h/fhir/r4/Location?name=north&_count=2&_page=3");
        assert_eq!(b["entry"][0]["fullUrl"], "http://h/fhir/r4/Location/a");
        assert_eq!(b["total"], 5);

        let p = Params::parse(ResourceType::Location, "_count=2&_page=3").unwrap();
        let b = searchset("http://h/fhir/r4", &p, 5, vec![]);
        assert!(!relations(&b).iter().any(|(r, _)| r == "next"));
        assert!(b.get("entry").is_none(), "an empty page has no entry element (FHIR forbids empty arrays)");
    }
}
