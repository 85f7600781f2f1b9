/** Types of `dev-front.mjs`, for the tests that start it. */
export interface DevFront {
  readonly port: number;
  close(): Promise<void>;
}

export function startDevFront(options: {
  host: string;
  port: number;
  upstreamPort: number;
  secret: string;
  onDeparted?: (status: number) => void;
}): Promise<DevFront>;
