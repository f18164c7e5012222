ALTER TABLE "executions" ADD COLUMN "artifact_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "artifacts_truncated" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "artifacts_expire_at" timestamp with time zone;