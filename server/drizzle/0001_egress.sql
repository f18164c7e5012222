CREATE TABLE "egress_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"ts" timestamp with time zone DEFAULT now() NOT NULL,
	"execution_id" text NOT NULL,
	"user_id" text NOT NULL,
	"method" text NOT NULL,
	"host" text NOT NULL,
	"port" integer NOT NULL,
	"allowed" boolean NOT NULL,
	"reason" text NOT NULL,
	"rule_id" text,
	"address" text,
	"status" integer,
	"bytes_in" integer,
	"bytes_out" integer,
	"duration_ms" integer
);
--> statement-breakpoint
CREATE TABLE "egress_rules" (
	"id" text PRIMARY KEY NOT NULL,
	"pattern" text NOT NULL,
	"ports" jsonb,
	"scope" text NOT NULL,
	"user_id" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "egress_rules" ADD CONSTRAINT "egress_rules_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "egress_log_exec_idx" ON "egress_log" USING btree ("execution_id");--> statement-breakpoint
CREATE INDEX "egress_log_user_ts_idx" ON "egress_log" USING btree ("user_id","ts");--> statement-breakpoint
CREATE INDEX "egress_rules_user_idx" ON "egress_rules" USING btree ("user_id");