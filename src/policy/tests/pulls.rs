//! Pulled answers: sharing groups against `X-UserOrgUUID`, lists checked
//! element by element, statuses that carry no content.

use super::*;

#[test]
fn x_user_org_uuid_limits_pulled_sharing_groups() {
    let cfg = config();
    let places: [Mutation; 3] = [
        |e| e["Event"]["SharingGroup"] = sharing_group(SG_OTHER, &[ORG_MEMBER], false),
        |e| {
            e["Event"]["Attribute"][0]["distribution"] = json!(4);
            e["Event"]["Attribute"][0]["SharingGroup"] =
                sharing_group(SG_OTHER, &[ORG_MEMBER], false)
        },
        |e| {
            e["Event"]["Object"][0]["distribution"] = json!("4");
            e["Event"]["Object"][0]["SharingGroup"] = sharing_group(SG_OTHER, &[ORG_MEMBER], false)
        },
    ];
    for place in places {
        let mut e = event();
        place(&mut e);
        let b = pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            &e,
            Some(ORG_OUTSIDER),
        )
        .unwrap_err();
        assert_eq!(b.rule, Rule::UserOrgNotInSharingGroup);
        assert_eq!(
            b.message,
            format!(
                "user with organisation uuid: {ORG_OUTSIDER} (X-UserOrgUUID) not in sharing group"
            )
        );
        pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            &e,
            Some(&ORG_MEMBER.to_uppercase()),
        )
        .expect("member");
        pull(&cfg, "198.51.100.20", "misp-inside.example", VIEW, &e, None)
            .expect("no header, no check");
    }
    // A sharing-group server with all_orgs lets every organisation in; a
    // missing SharingGroupServer list is an empty one.
    let mut e = event();
    e["Event"]["SharingGroup"] = sharing_group(SG_OTHER, &[], true);
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect("all_orgs");
    e["Event"]["SharingGroup"]["SharingGroupServer"] = json!([{"all_orgs": "1"}]);
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect("all_orgs as \"1\"");
    e["Event"]["SharingGroup"]
        .as_object_mut()
        .unwrap()
        .remove("SharingGroupServer");
    pull(
        &cfg,
        "198.51.100.20",
        "misp-inside.example",
        VIEW,
        &e,
        Some(ORG_OUTSIDER),
    )
    .expect_err("no server list");
}

#[test]
fn pulled_lists_are_checked_element_by_element() {
    let cfg = config();
    let u = "4c2d2f0e-7a1b-4e8c-9d3f-1a2b3c4d5e6f";
    let pl = |path: &str, body: Value| {
        pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            path,
            &body,
            None,
        )
    };
    let analyst = format!("/analyst_data/index/Note/uuid[]:{u}/uuid[]:{u}.json");
    // misp-guard stops after the first element; we do not.
    pl(
        &analyst,
        json!([{"Note": {"distribution": "1"}}, {"Note": {"distribution": "0"}}]),
    )
    .expect_err("second note");
    pl(
        &analyst,
        json!([{"Note": {"distribution": "1"}}, {"Opinion": {"distribution": "2"}}]),
    )
    .expect("notes");
    let sa =
        "/shadow_attributes/index/all:1/timestamp:0/limit:1000/page:1/deleted[]:0/deleted[]:1.json";
    pl(sa, json!([{"ShadowAttribute": attribute("ip-src", "Other")}, {"ShadowAttribute": attribute("email", "Other")}])).expect_err("proposal");
    pl(sa, json!([])).expect("no proposals");
    let view = format!("/galaxy_clusters/view/{u}");
    pl(&view, json!({"GalaxyCluster": {"distribution": 0}})).expect_err("cluster");
    pl(&view, json!({"GalaxyCluster": {"distribution": 3}})).expect("cluster");
    pl(
        VIEW,
        json!({"name": "Not Found", "message": "Invalid event", "url": "/events/view/x"}),
    )
    .expect_err("no Event");
}

#[test]
fn all_orgs_is_read_where_misp_reads_it() {
    let cfg = config();
    let mut e = event();
    e["Event"]["SharingGroup"] = sharing_group(SG_OTHER, &[], true);
    let pl = |e: &Value| {
        pull(
            &cfg,
            "198.51.100.20",
            "misp-inside.example",
            VIEW,
            e,
            Some(ORG_OUTSIDER),
        )
    };
    pl(&e).expect("all_orgs");
    // A nested Server wins over the outer flag.
    e["Event"]["SharingGroup"]["SharingGroupServer"][0]["Server"] = json!({"all_orgs": false});
    pl(&e).expect_err("inner all_orgs false");
    e["Event"]["SharingGroup"]["SharingGroupServer"][0]["all_orgs"] = json!(false);
    e["Event"]["SharingGroup"]["SharingGroupServer"][0]["Server"] = json!({"all_orgs": "1"});
    pl(&e).expect("inner all_orgs true");
}

#[test]
fn response_statuses_without_content() {
    let cfg = config();
    let pull_status = |body: &str, status: Option<u16>| {
        evaluate(
            &cfg,
            &Case {
                request_content_type: None,
                response: Some((
                    body.as_bytes(),
                    ResponseContext {
                        user_org_uuid: None,
                        status,
                    },
                )),
                ..exchange("198.51.100.20", "misp-inside.example", "GET", VIEW, b"")
            },
        )
    };
    pull_status("", Some(304)).expect("304 carries nothing");
    pull_status("", Some(204)).expect("204 carries nothing");
    pull_status("", Some(200)).expect_err("an empty 200 is not an event");
    pull_status("", None).expect_err("unknown status is 200");
    // A 304 that does carry a body is judged like any other.
    pull_status(r#"{"Event":{"distribution":"0"}}"#, Some(304)).expect_err("body on a 304");
    // MISP's own JSON error carries no data: it passes (misp-guard refuses
    // it, and MISP then logs a refusal instead of "not found"). Anything
    // else in an error is judged as the endpoint's body.
    pull_status(
        r#"{"name":"Not Found","message":"x","url":"/events/view"}"#,
        Some(404),
    )
    .expect("MISP's error");
    pull_status(r#"{"Event":{"distribution":"0"}}"#, Some(404)).expect_err("an event in a 404");
    pull_status(
        r#"{"name":"Not Found","message":"x","url":"/events/view"}"#,
        Some(200),
    )
    .expect_err("no Event in a 200");
}
