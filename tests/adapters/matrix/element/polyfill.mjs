// matrix-js-sdk 43 asks for Node 22; on Node 20 it misses only Promise.withResolvers (ES2024).
// Imported before the SDK so that its modules find it.
if (typeof Promise.withResolvers !== "function") {
    Promise.withResolvers = function withResolvers() {
        let resolve;
        let reject;
        const promise = new this((res, rej) => {
            resolve = res;
            reject = rej;
        });
        return { promise, resolve, reject };
    };
}
