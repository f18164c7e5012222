CREATE TABLE "execution_files" (
	"execution_id" text NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"key" text NOT NULL,
	"mode" integer DEFAULT 420 NOT NULL,
	"size" bigint NOT NULL,
	"sha256" text NOT NULL,
	"content_type" text,
	"position" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	CONSTRAINT "execution_files_execution_id_kind_name_pk" PRIMARY KEY("execution_id","kind","name")
);
--> statement-breakpoint
CREATE INDEX "execution_files_expires_idx" ON "execution_files" USING btree ("expires_at");