import { memoryAdapter } from "../../src/index.js";
import { describeConformance } from "../conformance/index.js";

// One store: every instance the suite makes is another client of it, as
// separate callers in one process are.
const store = memoryAdapter();
describeConformance({ name: "memory", transport: "adapter", create: () => store });
