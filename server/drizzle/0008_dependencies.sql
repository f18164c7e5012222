ALTER TABLE "executions" ADD COLUMN "dependency_request" jsonb;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "installed" jsonb;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "bundle_key" text;