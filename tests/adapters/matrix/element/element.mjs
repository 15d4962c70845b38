// A person using a client built as Element builds it: matrix-js-sdk with its Rust crypto (WASM).
// Driven by the Python tests over standard input and output, one JSON object a line:
//   in:  {"id": 1, "op": "login", ...arguments}
//   out: {"id": 1, "ok": true, "result": ...} or {"id": 1, "ok": false, "error": "..."}
// Requests run concurrently (a verification waits while messages are read). Logs go to stderr.
import "./polyfill.mjs";
import "fake-indexeddb/auto";
import readline from "node:readline";
import util from "node:util";

import * as sdk from "matrix-js-sdk";
import {
    AllDevicesIsolationMode,
    decodeRecoveryKey,
    EventShieldColour,
    EventShieldReason,
    OnlySignedDevicesIsolationMode,
    VerificationPhase,
    VerifierEvent,
} from "matrix-js-sdk/lib/crypto-api/index.js";
import { logger } from "matrix-js-sdk/lib/logger.js";

const toStderr = (...args) => process.stderr.write(util.format(...args) + "\n");
console.log = console.info = console.debug = console.warn = console.error = toStderr;
logger.setLevel(process.env.ELEMENT_LOG_LEVEL || "warn");

let client = null;
let storageKey = null; // the secret-storage key given by read_secret
const TIMEOUT = Number(process.env.ELEMENT_TIMEOUT_MS || 30000);

async function until(predicate, what, timeout = TIMEOUT) {
    const deadline = Date.now() + timeout;
    for (;;) {
        const value = await predicate();
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

function crypto() {
    return client.getCrypto();
}

const ops = {
    async login({ homeserver, user, password, device, cross_signing = true }) {
        const anonymous = sdk.createClient({ baseUrl: homeserver });
        const session = await anonymous.loginRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user },
            password,
            device_id: device,
            initial_device_display_name: "Element (tests)",
        });
        client = sdk.createClient({
            baseUrl: homeserver,
            userId: session.user_id,
            deviceId: session.device_id,
            accessToken: session.access_token,
            cryptoCallbacks: {
                getSecretStorageKey: async ({ keys }) => {
                    const ids = Object.keys(keys);
                    return storageKey && ids.length ? [ids[0], storageKey] : null;
                },
            },
        });
        await client.initRustCrypto({ useIndexedDB: false });
        client.on(sdk.RoomMemberEvent.Membership, (_event, member) => {
            if (member.userId === client.getUserId() && member.membership === "invite") {
                client.joinRoom(member.roomId).catch((error) => toStderr("join failed", error));
            }
        });
        const prepared = new Promise((resolve) =>
            client.on(sdk.ClientEvent.Sync, (state) => state === "PREPARED" && resolve()),
        );
        await client.startClient({ initialSyncLimit: 50 });
        await prepared;
        if (cross_signing) {
            await crypto().bootstrapCrossSigning({
                authUploadDeviceSigningKeys: async (makeRequest) => {
                    await makeRequest({
                        type: "m.login.password",
                        identifier: { type: "m.id.user", user: session.user_id },
                        password,
                    });
                },
            });
        }
        return { user_id: session.user_id, device_id: session.device_id };
    },

    async isolation({ mode }) {
        crypto().setDeviceIsolationMode(
            mode === "signed" ? new OnlySignedDevicesIsolationMode() : new AllDevicesIsolationMode(false),
        );
        return mode;
    },

    async dm({ user }) {
        const { room_id: roomId } = await client.createRoom({
            is_direct: true,
            invite: [user],
            preset: sdk.Preset.TrustedPrivateChat,
            initial_state: [
                { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
            ],
        });
        await until(() => client.getRoom(roomId)?.getMember(user)?.membership === "join", `${user} to join`);
        return roomId;
    },

    async say({ room, text }) {
        const { event_id: eventId } = await client.sendTextMessage(room, text);
        return eventId;
    },

    async messages({ room }) {
        const timeline = client.getRoom(room)?.getLiveTimeline().getEvents() || [];
        const seen = [];
        for (const event of timeline) {
            if (event.getSender() === client.getUserId()) continue;
            if (!["m.room.message", "m.room.encrypted"].includes(event.getType())) continue;
            await client.decryptEventIfNeeded(event);
            const info = event.isEncrypted() ? await crypto().getEncryptionInfoForEvent(event) : null;
            seen.push({
                event_id: event.getId(),
                sender: event.getSender(),
                type: event.getType(),
                content: event.getContent(),
                encrypted: event.isEncrypted(),
                sender_device: event.getWireContent().device_id ?? null,
                failure: event.decryptionFailureReason ?? null,
                shield: info && {
                    colour: EventShieldColour[info.shieldColour],
                    reason: info.shieldReason === null ? null : EventShieldReason[info.shieldReason],
                },
            });
        }
        return seen;
    },

    async device({ user, device }) {
        await crypto().getUserDeviceInfo([user], true);
        const status = await crypto().getDeviceVerificationStatus(user, device);
        return (
            status && {
                signed_by_owner: status.signedByOwner,
                cross_signing_verified: status.crossSigningVerified,
                locally_verified: status.localVerified,
                verified: status.isVerified(),
            }
        );
    },

    async identity({ user }) {
        await crypto().getUserDeviceInfo([user], true);
        const status = await crypto().getUserVerificationStatus(user);
        return { cross_signing_verified: status.isCrossSigningVerified(), verified: status.isVerified() };
    },

    async verify({ user, device, room }) {
        if (!room) {
            // Rust crypto knows the devices of the users it tracks: those who share an encrypted room.
            await until(
                async () => (await crypto().getDeviceVerificationStatus(user, device)) !== null,
                `the keys of ${user}'s device ${device}`,
            );
        }
        const request = room
            ? await crypto().requestVerificationDM(user, room)
            : await crypto().requestDeviceVerification(user, device);
        await until(
            () => [VerificationPhase.Ready, VerificationPhase.Cancelled].includes(request.phase),
            "the other side to be ready",
        );
        if (request.phase === VerificationPhase.Cancelled) throw new Error(`cancelled: ${request.cancellationCode}`);
        const verifier = await request.startVerification("m.sas.v1");
        const shown = new Promise((resolve) => verifier.once(VerifierEvent.ShowSas, resolve));
        const done = verifier.verify();
        done.catch(() => {}); // awaited below; a cancellation is reported from there
        const sas = await Promise.race([shown, done.then(() => null)]);
        if (!sas) throw new Error("the verification ended before the emojis were shown");
        const emojis = sas.sas.emoji.map(([symbol]) => symbol);
        await sas.confirm();
        await done;
        await until(() => request.phase === VerificationPhase.Done, "the verification to be done");
        return { emojis, phase: VerificationPhase[request.phase], transaction: request.transactionId };
    },

    async read_secret({ recovery_key, name }) {
        storageKey = decodeRecoveryKey(recovery_key);
        const keyId = await client.secretStorage.getDefaultKeyId();
        const [, description] = (await client.secretStorage.getKey(keyId)) || [];
        const matches = description ? await client.secretStorage.checkKey(storageKey, description) : false;
        return { key_id: keyId, key_matches: matches, secret: await client.secretStorage.get(name) };
    },

    async stop() {
        client?.stopClient();
        setTimeout(() => process.exit(0), 10);
        return true;
    },
};

function reply(message) {
    process.stdout.write(JSON.stringify(message) + "\n");
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
    const { id, op, ...args } = JSON.parse(line);
    Promise.resolve()
        .then(() => {
            if (!ops[op]) throw new Error(`unknown op ${op}`);
            return ops[op](args);
        })
        .then((result) => reply({ id, ok: true, result: result ?? null }))
        .catch((error) => reply({ id, ok: false, error: String(error?.stack || error) }));
});
lines.on("close", () => {
    client?.stopClient();
    process.exit(0);
});
