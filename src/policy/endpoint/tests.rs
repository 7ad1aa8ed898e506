use super::*;

const U: &str = "385283a1-b5e0-4e10-a532-dce11c365a56";

fn name(method: &str, target: &str) -> Result<&'static str, String> {
    classify(method, target)
        .map(|e| e.name)
        .map_err(|b| b.message)
}

#[test]
fn every_sync_endpoint_is_known() {
    let long_view = format!(
        "/events/view/{U}/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/excludeLocalTags:1"
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("GET", "/servers/getVersion".into(), "servers/getVersion"),
        ("GET", "/servers/getVersion.json".into(), "servers/getVersion"),
        ("POST", "/servers/postTest".into(), "servers/postTest"),
        ("GET", "/users/view/me.json".into(), "users/view/me"),
        ("POST", "/events/index".into(), "events/index"),
        (
            "POST",
            "/events/filterEventIdsForPush".into(),
            "events/filterEventIdsForPush",
        ),
        ("HEAD", format!("/events/view/{U}"), "events/view (HEAD)"),
        ("POST", "/events/add".into(), "events/add"),
        ("POST", "/events/add/metadata:1".into(), "events/add"),
        ("POST", format!("/events/edit/{U}/metadata:1"), "events/edit"),
        ("POST", "/events/edit/42".into(), "events/edit"),
        ("GET", "/eventReports/add".into(), "eventReports/add (probe)"),
        (
            "POST",
            "/galaxy_clusters/restSearch".into(),
            "galaxy_clusters/restSearch",
        ),
        ("POST", "/galaxies/pushCluster".into(), "galaxies/pushCluster"),
        ("POST", format!("/events/pushProposals/{U}"), "events/pushProposals"),
        (
            "POST",
            format!("/sightings/filterSightingUuidsForPush/{U}"),
            "sightings/filterSightingUuidsForPush",
        ),
        (
            "POST",
            format!("/sightings/bulkSaveSightings/{U}"),
            "sightings/bulkSaveSightings",
        ),
        (
            "POST",
            "/analyst_data/filterAnalystDataForPush".into(),
            "analyst_data/filterAnalystDataForPush",
        ),
        (
            "POST",
            "/analyst_data/pushAnalystData".into(),
            "analyst_data/pushAnalystData",
        ),
        ("GET", long_view, "events/view"),
        ("GET", format!("/events/view/{U}"), "events/view"),
        (
            "GET",
            "/shadow_attributes/index/all:1/timestamp:0/limit:1000/page:1/deleted[]:0/deleted[]:1.json"
                .into(),
            "shadow_attributes/index",
        ),
        ("GET", format!("/galaxy_clusters/view/{U}"), "galaxy_clusters/view"),
        (
            "POST",
            "/sightings/restSearch/event".into(),
            "sightings/restSearch/event",
        ),
        (
            "POST",
            "/analyst_data/indexMinimal".into(),
            "analyst_data/indexMinimal",
        ),
        (
            "GET",
            format!("/analyst_data/index/Note/uuid[]:{U}.json"),
            "analyst_data/index",
        ),
        (
            "GET",
            format!("/analyst_data/index/Relationship/uuid[]:{U}/uuid[]:{}.json", U.to_uppercase()),
            "analyst_data/index",
        ),
        ("POST", "/users/resetauthkey/me".into(), "users/resetauthkey/me"),
    ];
    for (method, target, want) in cases {
        assert_eq!(name(method, &target), Ok(want), "{method} {target}");
    }
}

#[test]
fn analyst_index_takes_up_to_one_hundred_uuids() {
    let list = |n: usize| {
        let segs: Vec<String> = (0..n).map(|_| format!("uuid[]:{U}")).collect();
        format!("/analyst_data/index/Opinion/{}.json", segs.join("/"))
    };
    assert!(classify("GET", &list(1)).is_ok());
    assert!(classify("GET", &list(100)).is_ok());
    assert!(classify("GET", &list(101)).is_err());
    assert!(classify("GET", "/analyst_data/index/Opinion.json").is_err());
    assert!(classify("GET", "/analyst_data/index/Event/uuid[]:x.json").is_err());
}

#[test]
fn ambiguous_paths_are_refused_not_normalised() {
    let refused = [
        "/events//add",
        "/events/add/",
        "/events/./add",
        "/events/../events/add",
        "/events%2Fadd",
        "/events%2fadd",
        "/events/add%00",
        "/events/add;metadata:1",
        "/events/add?metadata=1",
        "/servers/getVersion?x",
        "/events/add#x",
        "/Events/add",
        "/events/ADD",
        "/events/add%",
        "/events/add%zz",
        "/events/add%C3%A9",
        "events/add",
        "http://example.org/events/add",
        "/events/add/metadata:1/metadata:1",
        "/events/add/distribution:0",
        "/events/addTag",
        "/events/add\\x",
    ];
    for target in refused {
        assert!(
            classify("POST", target).is_err(),
            "{target} must be refused"
        );
    }
}

#[test]
fn percent_encoded_letters_decode_to_the_same_endpoint() {
    assert_eq!(name("POST", "/ev%65nts/add"), Ok("events/add"));
    assert_eq!(
        name("GET", "/servers/getVersio%6E"),
        Ok("servers/getVersion")
    );
}

#[test]
fn a_method_that_does_not_belong_to_the_path_is_refused() {
    for (method, target) in [
        ("GET", "/events/add".to_string()),
        ("HEAD", "/events/add".to_string()),
        ("PUT", "/events/add".to_string()),
        ("DELETE", format!("/events/view/{U}")),
        ("OPTIONS", "/servers/getVersion".to_string()),
        ("TRACE", "/servers/getVersion".to_string()),
        ("POST", "/servers/getVersion".to_string()),
        ("get", "/servers/getVersion".to_string()),
    ] {
        let err = classify(method, &target).unwrap_err();
        assert!(
            err.message.contains("method"),
            "{method} {target}: {}",
            err.message
        );
    }
}

#[test]
fn identifiers_must_be_well_formed() {
    assert!(classify("HEAD", "/events/view/1234").is_err());
    assert!(classify("HEAD", &format!("/events/view/{U}x")).is_err());
    assert!(classify("POST", "/sightings/bulkSaveSightings/abc").is_err());
    assert!(classify("GET", "/galaxy_clusters/view/1").is_err());
    assert!(classify("GET", &format!("/events/view/{U}/bad")).is_err());
    assert!(classify("GET", &format!("/events/view/{U}/a:b:c")).is_err());
    assert!(is_uuid(&U.to_uppercase()));
    assert!(!is_uuid("385283a1xb5e0-4e10-a532-dce11c365a56"));
}

#[test]
fn unknown_endpoints_are_refused() {
    for (m, t) in [
        ("GET", "/users"),
        ("POST", "/users/resetauthkey/1"),
        ("POST", "/admin/users/add"),
        ("GET", "/attributes/restSearch"),
        // Every tag and organisation name of the instance, unfiltered: the
        // server-edit page's picker, not sync.
        ("GET", "/servers/getAvailableSyncFilteringRules"),
    ] {
        assert_eq!(
            name(m, t),
            Err("endpoint not allowed".to_string()),
            "{m} {t}"
        );
    }
    assert!(classify("GET", "/").is_err());
}

/// Named parameters are closed: exactly those MISP's own sync sends, each
/// once; any other is refused by name (`events/view` would otherwise add
/// other events' titles and values, or merge other events in).
#[test]
fn named_parameters_are_the_ones_misp_sends() {
    let view = |tail: &str| classify("GET", &format!("/events/view/{U}{tail}"));
    for tail in [
        "/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0",
        "/deleted[]:0/deleted[]:1/excludeGalaxy:1/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/excludeLocalTags:1",
        "/deleted[]:0/deleted[]:1/excludeGalaxy:1/excludeLocalTags:1/includeAttachments:0/includeEventCorrelations:0/includeFeedCorrelations:0/includeWarninglistHits:0/noEventReports:1/noShadowAttributes:1",
        ".json",
    ] {
        view(tail).unwrap_or_else(|b| panic!("{tail}: {b}"));
    }
    for (tail, key) in [
        (
            "/includeGranularCorrelations:1",
            "includeGranularCorrelations",
        ),
        ("/includeEventCorrelations:1", "includeEventCorrelations"),
        ("/extended:1", "extended"),
        ("/includeRelatedTags:1", "includeRelatedTags"),
        ("/excludeGalaxy:1/excludeGalaxy:1", "excludeGalaxy"),
        ("/deleted[]:0/deleted[]:0", "deleted[]"),
        ("/sql:1", "sql"),
    ] {
        let b = view(tail).unwrap_err();
        assert_eq!(b.rule, Rule::UnknownKey, "{tail}: {b}");
        assert!(b.message.contains(key), "{tail}: {b}");
    }
    let proposals = |tail: &str| classify("GET", &format!("/shadow_attributes/index{tail}"));
    proposals("/all:1/timestamp:1700000000/limit:1000/page:2/deleted[]:0/deleted[]:1.json")
        .unwrap();
    for tail in ["/searchall:x", "/all:0", "/sort:value", "/limit:x"] {
        assert_eq!(
            proposals(tail).unwrap_err().rule,
            Rule::UnknownKey,
            "{tail}"
        );
    }
    for tail in [
        "/metadata:2",
        "/fast_update:1",
        "/disable_background_processing:1",
    ] {
        let b = classify("POST", &format!("/events/edit/{U}{tail}")).unwrap_err();
        assert_eq!(b.rule, Rule::UnknownKey, "{tail}");
    }
    // The path's UUID is kept, lower-cased: the body must be about it.
    let e = classify(
        "POST",
        &format!("/events/edit/{}/metadata:1", U.to_uppercase()),
    )
    .unwrap();
    assert_eq!(
        e.subject.map(|s| s.as_str().to_string()).as_deref(),
        Some(U)
    );
}
