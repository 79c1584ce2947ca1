//! getOrCreateConversation, createSubConversation, updateConversation, deleteConversation.

mod common;

use common::spawn_app;
use connect360_api::{
    CreateSubConversation, DeleteConversation, GetOrCreateConversation, ListMessages, SendMessage, UpdateConversation,
};
use connect360_server::domain::Role;
use connect360_server::store::NewMember;
use serde_json::json;

on_both_stores! {
    async fn a_customer_s_top_level_conversation_is_reused() {
        let app = spawn_app().await;
        let key = app.key(Role::Full).await;
        let first = app
            .call::<GetOrCreateConversation>(&key, json!({
                "name": "Jane's chat",
                "customer": {"externalId": "u1", "name": "Jane", "email": "jane@example.com"},
                "channelIdentifier": "Example.com",
                "metadata": {"plan": "pro"}
            }))
            .await;
        let first = first.data().clone();
        assert_eq!(first["name"], "Jane's chat");
        assert_eq!(first["type"], "DIRECT");
        assert_eq!(first["parentId"], json!(null));
        assert_eq!(first["metadata"], json!({"plan": "pro"}));
        assert_eq!(first["channels"][0]["type"], "website");
        assert_eq!(first["channels"][0]["identifier"], "example.com");
        let ws = app.workspace("default").await;
        assert_eq!(first["memberIds"], json!([ws.default_member_id]), "the key's member takes part");

        // By external id, by customerId, by customer.id: the same conversation.
        let customer_id = first["customerId"].as_str().unwrap();
        for input in [
            json!({"customer": {"externalId": "u1"}}),
            json!({"customerId": customer_id}),
            json!({"customer": {"id": customer_id}}),
        ] {
            let again = app.call::<GetOrCreateConversation>(&key, input).await;
            assert_eq!(again.data()["id"], first["id"]);
            assert_eq!(again.data()["channels"], first["channels"], "the channel was reused, not duplicated");
        }
        // Another customer gets another conversation.
        let other = app.call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "u2"}})).await;
        assert_ne!(other.data()["id"], first["id"]);
    }
}

on_both_stores! {
    async fn members_only_conversations_are_reused_by_their_exact_members() {
        let app = spawn_app().await;
        let ws = app.workspace("default").await;
        let key = app.key(Role::Full).await;
        let alice = app.store.create_member(&member(&ws.id, "Alice")).await.unwrap();
        let bob = app.store.create_member(&member(&ws.id, "Bob")).await.unwrap();

        let with_alice = app.call::<GetOrCreateConversation>(&key, json!({"memberIds": [alice], "type": "GROUP"})).await;
        let with_alice = with_alice.data().clone();
        assert_eq!(with_alice["type"], "GROUP");
        assert_eq!(with_alice["customerId"], json!(null));
        let again = app.call::<GetOrCreateConversation>(&key, json!({"memberIds": [alice]})).await;
        assert_eq!(again.data()["id"], with_alice["id"]);
        let with_both = app.call::<GetOrCreateConversation>(&key, json!({"memberIds": [alice, bob]})).await;
        assert_ne!(with_both.data()["id"], with_alice["id"]);
        assert_eq!(with_both.data()["memberIds"].as_array().unwrap().len(), 3);

        let message = app.call::<GetOrCreateConversation>(&key, json!({"memberIds": ["mem_nope"]})).await.error("BAD_REQUEST");
        assert_eq!(message, "memberIds[0]: unknown member");
        let message = app.call::<GetOrCreateConversation>(&key, json!({"memberIds": [alice, alice]})).await.error("BAD_REQUEST");
        assert_eq!(message, "memberIds[1]: listed twice");
    }
}

on_both_stores! {
    async fn get_or_create_validates_its_input() {
        let app = spawn_app().await;
        let key = app.key(Role::Full).await;
        let cases = [
            (json!({}), "customerId: one of customerId, customer or memberIds is required"),
            (json!({"customer": {"name": "No key"}}), "customer: needs id or externalId"),
            (json!({"customer": {"externalId": "u", "email": "nope"}}), "customer.email: must be an email address"),
            (json!({"customer": {"externalId": "u", "image": "javascript:alert(1)"}}), "customer.image: must be an http or https URL"),
            (json!({"customer": {"externalId": "u", "phone": "call me"}}), "customer.phone: must be a phone number"),
            (json!({"customer": {"externalId": "u"}, "channelIdentifier": "https://x.com/"}), "channelIdentifier: must be a host name like example.com"),
            (json!({"customer": {"externalId": "u"}, "channelIds": ["chan_nope"]}), "channelIds[0]: unknown channel"),
            (json!({"customer": {"externalId": "u"}, "name": "  "}), "name: must not be empty"),
            (json!({"customer": {"externalId": "u"}, "type": "PAIR"}), "type: unknown variant `PAIR`, expected `DIRECT` or `GROUP`"),
            (json!({"customerId": "a", "customer": {"id": "b"}}), "customer.id: differs from customerId"),
            (json!({"customer": {"externalId": "u"}, "metadata": {"big": "x".repeat(20_000)}}), "metadata: at most 16384 bytes of JSON"),
        ];
        for (input, expected) in cases {
            let message = app.call::<GetOrCreateConversation>(&key, input.clone()).await.error("BAD_REQUEST");
            assert_eq!(message, expected, "for {input}");
        }
        app.call::<GetOrCreateConversation>(&key, json!({"customerId": "cus_nope"})).await.error("NOT_FOUND");
        // The unknown channel was found after customer "u" was created: the refusal undid that.
        let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(&app.db().await).await.unwrap();
        assert_eq!(customers, 0);
    }
}

on_both_stores! {
    async fn customer_fields_are_updated_and_metadata_merged() {
        let app = spawn_app().await;
        let key = app.key(Role::Full).await;
        let conv = app
            .call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "u1", "name": "Jane", "metadata": {"a": 1, "b": 2}}}))
            .await;
        let conv_id = conv.data()["id"].as_str().unwrap().to_owned();
        app.call::<GetOrCreateConversation>(
            &key,
            json!({"customer": {"externalId": "u1", "name": "Jane Doe", "image": "https://cdn.example.com/j.png", "metadata": {"b": null, "c": 3}}}),
        )
        .await
        .data();
        let msg = app
            .call::<SendMessage>(&key, json!({"conversationId": conv_id, "sender": "customer", "customer": {"externalId": "u1"}, "content": {"en": "hi"}}))
            .await;
        assert_eq!(msg.data()["sender"]["name"], "Jane Doe");
        assert_eq!(msg.data()["sender"]["image"], "https://cdn.example.com/j.png");
        let metadata: String = sqlx::query_scalar("SELECT metadata FROM customers WHERE external_id = 'u1'")
            .fetch_one(&app.db().await)
            .await
            .unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&metadata).unwrap(), json!({"a": 1, "c": 3}));
    }
}

on_both_stores! {
    async fn sub_conversations_inherit_channels_and_do_not_nest() {
        let app = spawn_app().await;
        let key = app.key(Role::Full).await;
        let parent = app
            .call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "u1"}, "channelIdentifier": "shop.example.com"}))
            .await;
        let parent = parent.data().clone();
        let sub = app
            .call::<CreateSubConversation>(&key, json!({"parentId": parent["id"], "name": "Order #1042", "metadata": {"order": 1042}}))
            .await;
        let sub = sub.data().clone();
        assert_eq!(sub["parentId"], parent["id"]);
        assert_eq!(sub["name"], "Order #1042");
        assert_eq!(sub["customerId"], parent["customerId"]);
        assert_eq!(sub["channels"], parent["channels"]);
        assert_eq!(sub["metadata"], json!({"order": 1042}));

        let own = app
            .call::<CreateSubConversation>(&key, json!({"parentId": parent["id"], "channelIdentifier": "help.example.com"}))
            .await;
        assert_eq!(own.data()["channels"][0]["identifier"], "help.example.com");
        assert_eq!(own.data()["channels"].as_array().unwrap().len(), 1);

        let message = app.call::<CreateSubConversation>(&key, json!({"parentId": sub["id"]})).await.error("BAD_REQUEST");
        assert_eq!(message, "parentId: is a sub-conversation; sub-conversations do not nest");
        app.call::<CreateSubConversation>(&key, json!({"parentId": "conv_nope"})).await.error("NOT_FOUND");

        // Messages go to a sub-conversation like to any other.
        app.send_text(&key, sub["id"].as_str().unwrap(), "about the order").await;
        let customer_again = app.call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "u1"}})).await;
        assert_eq!(customer_again.data()["id"], parent["id"], "reuse finds the top-level one");
    }
}

on_both_stores! {
    async fn update_merges_metadata_renames_and_reparents() {
        let app = spawn_app().await;
        let key = app.key(Role::Full).await;
        let a = app
            .call::<GetOrCreateConversation>(&key, json!({"customer": {"externalId": "a"}, "name": "A", "metadata": {"x": 1, "y": 2}}))
            .await
            .data()["id"]
            .clone();
        let b = app.conversation(&key).await;

        let updated = app.call::<UpdateConversation>(&key, json!({"id": a, "metadata": {"y": null, "z": 3}})).await;
        assert_eq!(updated.data()["metadata"], json!({"x": 1, "z": 3}));
        assert_eq!(updated.data()["name"], "A", "an absent name is left alone");
        let updated = app.call::<UpdateConversation>(&key, json!({"id": a, "name": null})).await;
        assert_eq!(updated.data()["name"], json!(null));
        let updated = app.call::<UpdateConversation>(&key, json!({"id": a, "name": "Renamed"})).await;
        assert_eq!(updated.data()["name"], "Renamed");
        assert_eq!(updated.data()["metadata"], json!({"x": 1, "z": 3}));

        let moved = app.call::<UpdateConversation>(&key, json!({"id": b, "parentId": a})).await;
        assert_eq!(moved.data()["parentId"], a);
        let cases = [
            (json!({"id": a, "parentId": a}), "parentId: a conversation cannot be its own parent"),
            (json!({"id": a, "parentId": b}), "parentId: is a sub-conversation; sub-conversations do not nest"),
            (json!({"id": a, "parentId": "conv_nope"}), "parentId: unknown conversation"),
            (json!({"id": a, "name": ""}), "name: must not be empty"),
            (json!({"id": a, "colour": "red"}), "colour: unknown field"),
        ];
        for (input, expected) in cases {
            assert_eq!(app.call::<UpdateConversation>(&key, input.clone()).await.error("BAD_REQUEST"), expected, "{input}");
        }
        let c = app.conversation(&key).await;
        let message = app.call::<UpdateConversation>(&key, json!({"id": a, "parentId": c})).await.error("BAD_REQUEST");
        assert_eq!(message, "parentId: this conversation has sub-conversations of its own");
        let back = app.call::<UpdateConversation>(&key, json!({"id": b, "parentId": null})).await;
        assert_eq!(back.data()["parentId"], json!(null));
        app.call::<UpdateConversation>(&key, json!({"id": "conv_nope", "name": "x"})).await.error("NOT_FOUND");
    }
}

on_both_stores! {
    async fn delete_removes_the_conversation_its_subs_and_their_messages() {
        let app = spawn_app().await;
        let key = app.key(Role::Full).await;
        let parent = app.conversation(&key).await;
        let sub = app.call::<CreateSubConversation>(&key, json!({"parentId": parent})).await.data()["id"].clone();
        app.send_text(&key, &parent, "one").await;
        app.send_text(&key, sub.as_str().unwrap(), "two").await;

        let deleted = app.call::<DeleteConversation>(&key, json!({"id": parent})).await;
        assert_eq!(deleted.data(), &json!({"id": parent, "deletedSubConversations": 1}));
        app.call::<ListMessages>(&key, json!({"conversationId": parent})).await.error("NOT_FOUND");
        app.call::<ListMessages>(&key, json!({"conversationId": sub})).await.error("NOT_FOUND");
        app.call::<DeleteConversation>(&key, json!({"id": parent})).await.error("NOT_FOUND");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(&app.db().await).await.unwrap();
        assert_eq!(left, 0);
    }
}

fn member(workspace_id: &str, name: &str) -> NewMember {
    NewMember { workspace_id: workspace_id.into(), name: name.into(), email: None, role: Role::Engage }
}
