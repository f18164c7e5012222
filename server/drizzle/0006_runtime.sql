ALTER TABLE "executions" ADD COLUMN "runtime" text;--> statement-breakpoint
ALTER TABLE "executions" ADD COLUMN "image" text;