ALTER TABLE "egress_log" ALTER COLUMN "execution_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "egress_log" ALTER COLUMN "user_id" DROP NOT NULL;