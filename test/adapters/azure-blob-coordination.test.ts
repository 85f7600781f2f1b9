import { COORDINATION_SECTIONS, describeConformance } from "../conformance/index.js";
import { azureBlobTarget, useAzurite } from "./azure-blob-fixture.js";

// The half of the suite built on the lock (guarded values, semaphores, leader election), in a file of its own
// so that it runs beside the lock half (azure-blob.test.ts): 15 s leases make each half minutes long.
describeConformance(azureBlobTarget(useAzurite()), COORDINATION_SECTIONS);
