/** Build targets: entry point and output file, relative to the repository root. */
export declare const TARGETS: Record<"aws" | "azure", { entry: string; outfile: string; external: string[] }>;
/** Bundle one target's entry point into a single ESM file; returns where and how big. */
export declare function bundle(
  name: "aws" | "azure",
  options?: { outfile?: string },
): Promise<{ outfile: string; bytes: number }>;
