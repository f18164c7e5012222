ALTER TABLE "execution_logs" ADD COLUMN "continued" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "execution_logs" ADD COLUMN "escaped" boolean DEFAULT false NOT NULL;