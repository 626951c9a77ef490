import { getOperationAST } from "graphql";
import type { Plugin } from "graphql-yoga";

/**
 * A verification answers once its use is committed, and the sealer counts it in the read tables
 * milliseconds later. Queries and subscriptions of this process wait for what it committed before
 * they started, so a client reads its own writes through any process it used.
 */
export function useReadYourWrites(caughtUp: () => Promise<void>): Plugin {
  return {
    async onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation === "query") await caughtUp();
    },
    async onSubscribe() {
      await caughtUp();
    },
  };
}
